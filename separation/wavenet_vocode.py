"""Vocode with a trained WaveNet: mel (.npy) or audio (copy synthesis) -> wav, fast batched generation.

Usage:
    python -m separation.wavenet_vocode --vocoder models/separation/vocoder.keras \
        --input a.wav b.wav --out_dir output/vocoded            # analysis -> WaveNet (copy synthesis)
    python -m separation.wavenet_vocode --vocoder ... --input mel.npy --out_dir ...   # [frames, 80] in [0, 1]

Each output ``<out_dir>/<stem>.wav`` has exactly ``frames * hop`` samples; all inputs are
generated together in batches of ``--batch`` (padded to the longest, then trimmed).
"""
import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from dsp.audio import InputError, cli_main  # noqa: E402


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
    from dsp.audio import load_audio
    from dsp.spectral import log_mel_spectrogram
    x, _ = load_audio(path, sr=cfg.sample_rate, min_samples=cfg.hop)
    return log_mel_spectrogram(x, cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop, n_mels=cfg.n_mels,
                               fmin=cfg.mel_fmin, fmax=cfg.mel_fmax, ref_level_db=cfg.ref_level_db,
                               min_level_db=cfg.min_level_db)[:len(x) // cfg.hop].astype(np.float32)


@cli_main
def main(argv=None):
    p = argparse.ArgumentParser(description="Vocode mel spectrograms or audio files with a trained WaveNet.")
    p.add_argument("--vocoder", required=True, help="vocoder .keras (with its .json beside it)")
    p.add_argument("--input", nargs="+", required=True, help=".npy mels [frames, 80] or audio files")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=8, help="utterances generated at once")
    p.add_argument("--speaker", type=int, default=None, help="speaker id for globally conditioned vocoders")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from separation.wavenet import load_vocoder
    model, cfg = load_vocoder(args.vocoder)
    mels = [input_mel(path, cfg) for path in args.input]   # validate every input before generating
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    from dsp.audio import write_wav
    from separation.wavenet_fast import FastWaveNetGenerator
    gen = FastWaveNetGenerator(model, cfg)
    for i in range(0, len(mels), args.batch):
        group = mels[i:i + args.batch]
        longest = max(len(m) for m in group)
        batch = np.stack([np.pad(m, ((0, longest - len(m)), (0, 0))) for m in group])
        speaker = None if args.speaker is None else [args.speaker] * len(group)
        wavs = gen.generate(batch, temperature=args.temperature, seed=args.seed + i, progress=True, speaker=speaker)
        for path, mel, wav in zip(args.input[i:i + args.batch], group, wavs):
            out = out_dir / (Path(path).stem + ".wav")
            write_wav(out, wav[:len(mel) * cfg.hop], cfg.sample_rate)
            print(f"wrote {out} ({len(mel) * cfg.hop} samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
