"""Generate synthetic noises in an ESC-50-like folder (no network needed).

    python -m corpus.make_noises --out_dir data/noise --sr 16000

Writes ``<out_dir>/audio/*.wav`` and ``<out_dir>/meta/esc50.csv``; read it back
with ``corpus.readers.read_esc50``. Categories: white/pink/brown noise, babble,
siren_sweep, mains_hum, clicks (see corpus/noise.py).
"""

import argparse
import sys
import time

from corpus.noise import NOISE_CATEGORIES, make_noises
from dsp.audio import cli_main


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m corpus.make_noises",
        description="Synthetic noises (coloured noise, babble, sirens, hum, clicks) in the ESC-50 layout.",
    )
    p.add_argument("--out_dir", default="data/noise", help="output folder (default: data/noise)")
    p.add_argument("--sr", type=int, default=16000, help="sample rate in Hz (default: 16000)")
    p.add_argument("--seconds", type=float, default=5.0, help="clip length in s (default: 5, as ESC-50)")
    p.add_argument("--n_per_kind", type=int, default=2, help="clips per category (default: 2)")
    p.add_argument("--categories", nargs="+", default=list(NOISE_CATEGORIES), choices=NOISE_CATEGORIES,
                   metavar="CAT", help=f"subset of: {' '.join(NOISE_CATEGORIES)} (default: all)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.sr < 8000:
        raise ValueError(f"--sr {args.sr}: need at least 8000 Hz")
    if args.seconds <= 0:
        raise ValueError(f"--seconds {args.seconds}: must be > 0")
    t0 = time.perf_counter()
    paths = make_noises(args.out_dir, sr=args.sr, seconds=args.seconds, seed=args.seed,
                        n_per_kind=args.n_per_kind, categories=args.categories, progress=True)
    print(f"wrote {len(paths)} noise clips to {args.out_dir} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
