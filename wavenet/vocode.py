"""Vocode with a trained WaveNet: mel (.npy) or audio (copy synthesis) -> wav, fast batched generation.

Usage:
    python -m wavenet.vocode --model models/separation/vocoder.keras \\
        --input a.wav b.wav --out_dir output/vocoded            # analysis -> WaveNet (copy synthesis)
    python -m wavenet.vocode --model ... --input mel.npy --out_dir ...   # [frames, 80] in [0, 1]

Each output ``<out_dir>/<stem>.wav`` has exactly ``frames * hop`` samples; all inputs are
generated together in batches of ``--batch_size`` (padded to the longest, then trimmed).
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from dsp.audio import InputError, cli_main, load_audio, write_wav
from wavenet.features import log_mel


def input_mel(path, cfg):
    """``[frames, n_mels]`` for a ``.npy`` mel or an audio file (its log-mel at the vocoder's settings)."""
    path = Path(path)
    if path.suffix == ".npy":
        if not path.is_file():
            raise InputError(f"{path}: file not found")
        try:
            mel = np.load(path)
        except Exception as e:
            raise InputError(f"{path}: cannot read .npy ({e})") from None
        if mel.ndim != 2 or mel.shape[1] != cfg.n_mels:
            raise InputError(f"{path}: expected a [frames, {cfg.n_mels}] mel, got shape {mel.shape}")
        if not np.all(np.isfinite(mel)):
            raise InputError(f"{path}: mel contains NaN or Inf")
        return mel.astype(np.float32)
    x, _ = load_audio(path, sr=cfg.sample_rate, min_samples=cfg.hop)
    return log_mel(x, cfg)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m wavenet.vocode",
                                description="Vocode mel spectrograms or audio files with a trained WaveNet.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="vocoder .keras file (with its .json beside it)")
    p.add_argument("--input", nargs="+", required=True, help=".npy mels [frames, 80] or audio files")
    p.add_argument("--out_dir", required=True, help="folder for <stem>.wav outputs")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (0: most likely value)")
    p.add_argument("--batch_size", type=int, default=8, help="utterances generated at once")
    p.add_argument("--speaker", type=int, default=None, help="speaker id for globally conditioned vocoders")
    p.add_argument("--seed", type=int, default=0)
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.batch_size < 1:
        raise InputError(f"--batch_size must be >= 1, got {args.batch_size}")
    # Keras loads here, not at the top: --help and flag errors answer at once instead of after ~5 s.
    from wavenet.generation import FastWaveNetGenerator
    from wavenet.model import load_vocoder

    model, cfg = load_vocoder(args.model)
    mels = [input_mel(path, cfg) for path in args.input]   # validate every input before generating
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = FastWaveNetGenerator(model, cfg)
    for i in range(0, len(mels), args.batch_size):
        group = mels[i:i + args.batch_size]
        longest = max(len(m) for m in group)
        batch = np.stack([np.pad(m, ((0, longest - len(m)), (0, 0))) for m in group])
        speaker = None if args.speaker is None else [args.speaker] * len(group)
        wavs = gen.generate(batch, temperature=args.temperature, seed=args.seed + i, progress=True, speaker=speaker)
        for path, mel, wav in zip(args.input[i:i + args.batch_size], group, wavs):
            out = out_dir / (Path(path).stem + ".wav")
            write_wav(out, wav[:len(mel) * cfg.hop], cfg.sample_rate)
            print(f"wrote {out} ({len(mel) * cfg.hop} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
