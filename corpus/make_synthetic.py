"""Generate the embedded synthetic speech corpus (no network needed).

    python -m corpus.make_synthetic --out_dir data/synthetic --minutes 3 --sr 16000 --seed 0

Writes ``<out_dir>/wav/<tag>.wav`` (PCM16 mono), ``<out_dir>/truth/<tag>.npz``
(f0, voiced, gci, lpc, frame_hop, sr) and ``<out_dir>/metadata.csv`` (LJSpeech
layout ``tag|text|text``), and with ``--plot`` a figure of the first utterance.
"""

import argparse
import sys
import time
from pathlib import Path

import soundfile as sf

from corpus.plot import plot_utterance
from corpus.synth import make_corpus
from dsp.audio import cli_main


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m corpus.make_synthetic",
        description="Deterministic source-filter speech corpus with ground truth "
        "(F0, voicing, glottal closure instants, all-pole vocal tract per 5 ms frame).",
    )
    p.add_argument("--out_dir", default="data/synthetic", help="output folder (default: data/synthetic)")
    p.add_argument("--minutes", type=float, default=3.0, help="total duration in minutes (default: 3)")
    p.add_argument("--n_utterances", type=int, default=None, help="number of utterances (overrides --minutes)")
    p.add_argument("--sr", type=int, default=16000, help="sample rate in Hz (default: 16000)")
    p.add_argument("--n_speakers", type=int, default=4, help="number of speakers (default: 4)")
    p.add_argument("--min_seconds", type=float, default=1.5, help="shortest utterance in s (default: 1.5)")
    p.add_argument("--max_seconds", type=float, default=3.5, help="longest utterance in s (default: 3.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="also write a figure of the first utterance with its ground truth")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.sr < 8000:
        raise ValueError(f"--sr {args.sr}: need at least 8000 Hz")
    t0 = time.perf_counter()
    paths = make_corpus(
        args.out_dir, n_utterances=args.n_utterances, minutes=args.minutes,
        seconds_per_utt=(args.min_seconds, args.max_seconds), sr=args.sr,
        n_speakers=args.n_speakers, seed=args.seed, progress=True,
    )
    elapsed = time.perf_counter() - t0
    total = sum(sf.info(str(p)).frames for p in paths) / args.sr
    print(f"wrote {len(paths)} utterances, {total / 60:.2f} min of {args.sr} Hz audio "
          f"to {args.out_dir} in {elapsed:.1f} s ({total / max(elapsed, 1e-9):.0f}x real time)")
    if args.plot:
        first = paths[0]
        png = plot_utterance(first, Path(args.out_dir) / "truth" / f"{first.stem}.npz", args.plot)
        print(f"figure: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
