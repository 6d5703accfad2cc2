"""Vocode with a trained WaveNet (or Griffin-Lim): mel (.npy) or audio (copy synthesis) -> wav.

Usage:
    python -m wavenet.vocode --model_dir pretrained/wavenet --input_dir DIR --out_dir OUT
    python -m wavenet.vocode --model_dir ... --input_dir DIR --out_dir OUT --method griffinlim
    python -m wavenet.vocode --model models/wavenet/vocoder.keras --input a.wav mel.npy --out_dir OUT

``--method wavenet_pf`` (the default) samples the WaveNet, then pulls every frame's mel bands toward
the input mel (`wavenet.features.mel_postfilter`, phase kept); ``wavenet`` writes the raw samples.

Each output ``<out_dir>/<stem>.wav`` has exactly ``frames * hop`` samples at the model's rate.
Every input is read and checked before anything is written: a bad one (missing, corrupt,
silent, shorter than one analysis window, a mel of the wrong shape) is refused with one line
naming it, unless ``--skip_bad`` drops it with a notice. WaveNet generates all inputs together
in batches of ``--batch_size`` (padded to the longest, then trimmed).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from dsp.audio import InputError, cli_main, load_audio, notice, write_wav
from wavenet.features import griffin_lim_from_mel, log_mel, mel_postfilter, random_phase_from_mel

AUDIO_SUFFIXES = (".wav", ".flac")
MODEL_FILES = ("vocoder.keras", "vocoder.json")
METHODS = ("wavenet", "wavenet_pf", "noise_pf", "griffinlim")


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
        if mel.ndim != 2 or mel.shape[1] != cfg.n_mels or len(mel) == 0:
            raise InputError(f"{path}: expected a [frames, {cfg.n_mels}] mel, got shape {mel.shape}")
        if not np.all(np.isfinite(mel)):
            raise InputError(f"{path}: mel contains NaN or Inf")
        return mel.astype(np.float32)
    # at least one analysis window (n_fft samples) after resampling to the model's rate
    x, _ = load_audio(path, sr=cfg.sample_rate, min_samples=max(cfg.n_fft, cfg.hop))
    return log_mel(x, cfg)


def input_paths(args):
    """The ``--input`` files, or every .wav/.flac in ``--input_dir`` (sorted); output stems must be unique."""
    if args.input_dir is not None:
        folder = Path(args.input_dir)
        if not folder.is_dir():
            raise InputError(f"{folder}: input folder not found")
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        if not paths:
            raise InputError(f"{folder}: no .wav or .flac files in the input folder")
    else:
        paths = [Path(p) for p in args.input]
    seen = {}
    for p in paths:
        if p.stem in seen:
            raise InputError(f"{p}: same output name {p.stem}.wav as {seen[p.stem]}")
        seen[p.stem] = p
    return paths


def model_checkpoint(args):
    """The ``.keras`` file to load: ``--model``, or ``--model_dir``/vocoder.keras with its JSON beside it."""
    if args.model is not None:
        return Path(args.model)
    folder = Path(args.model_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: model folder not found")
    for name in MODEL_FILES:
        if not (folder / name).is_file():
            raise InputError(f"{folder / name}: missing from the model folder (it needs {' + '.join(MODEL_FILES)})")
    return folder / MODEL_FILES[0]


def check_model(model, cfg, path):
    """The network must match its JSON configuration (mel bands in, output channels out)."""
    n_mels = model.input["mel"].shape[-1] if isinstance(model.input, dict) else None
    n_out = model.output.shape[-1]
    if n_mels != cfg.n_mels or n_out != cfg.out_channels:
        raise InputError(f"{path}: network (mel {n_mels}, output {n_out}) does not match its JSON config "
                         f"(n_mels {cfg.n_mels}, output {cfg.out_channels} channels)")


def read_inputs(paths, cfg, skip_bad):
    """``[(path, mel)]`` of the usable inputs; a bad one raises, or is dropped with a notice (``skip_bad``)."""
    good = []
    for path in paths:
        try:
            good.append((path, input_mel(path, cfg)))
        except InputError as e:
            if not skip_bad:
                raise
            notice(f"skipped {e}")
    if not good:
        raise InputError("no usable input left (every input was skipped)")
    return good


def sample_wavenet(model, cfg, items, args):
    """The WaveNet's samples for every ``(path, mel)``: fast batched generation (``args.batch_size``,
    ``temperature``, ``prob_floor``, ``speaker``, ``seed``), each cut to ``frames * cfg.hop``."""
    # Keras loads here, not at the top: --help and flag errors answer at once instead of after ~5 s.
    from wavenet.generation import FastWaveNetGenerator

    gen = FastWaveNetGenerator(model, cfg)
    wavs = []
    with tqdm(total=len(items), desc="wavenet", unit="file") as bar:
        for i in range(0, len(items), args.batch_size):
            group = items[i:i + args.batch_size]
            longest = max(len(m) for _, m in group)
            batch = np.stack([np.pad(m, ((0, longest - len(m)), (0, 0))) for _, m in group])
            speaker = None if args.speaker is None else [args.speaker] * len(group)
            out = gen.generate(batch, temperature=args.temperature, seed=args.seed + i, progress=True,
                               speaker=speaker, prob_floor=args.prob_floor)
            wavs += [wav[:len(mel) * cfg.hop] for (_, mel), wav in zip(group, out)]
            bar.update(len(group))
    return wavs


def vocode_items(model, cfg, items, out_dir, method, args, sampled=None):
    """Vocode every ``(path, mel)`` with ``method``; writes ``out_dir/<stem>.wav`` and returns the wavs.

    ``wavenet``: the WaveNet's samples (`sample_wavenet`);
    ``wavenet_pf``: the same, then `wavenet.features.mel_postfilter` (``args.postfilter_iters``
    iterations of at most ``args.postfilter_db`` dB per band) pulls each toward its mel;
    ``noise_pf``: the control without a vocoder: the mel's magnitude with random phase, same post-filter;
    ``griffinlim``: ``args.n_iter`` iterations from the same mel.
    ``sampled``: the ``wavenet`` output of the same items and seed, post-filtered instead of sampling again.
    """
    if method == "griffinlim":
        wavs = [griffin_lim_from_mel(mel, cfg, n_iter=args.n_iter, seed=args.seed)
                for _, mel in tqdm(items, desc="griffin-lim", unit="file")]
    else:
        if method == "noise_pf":
            wavs = [random_phase_from_mel(mel, cfg, seed=args.seed + i) for i, (_, mel) in enumerate(items)]
        else:
            wavs = sample_wavenet(model, cfg, items, args) if sampled is None else sampled
        if method in ("wavenet_pf", "noise_pf"):
            wavs = [mel_postfilter(wav, mel, cfg, max_gain_db=args.postfilter_db, n_iter=args.postfilter_iters)
                    for (_, mel), wav in zip(tqdm(items, desc="post-filter", unit="file"), wavs)]
    for (path, _), wav in zip(items, wavs):
        write_output(out_dir, path, wav, cfg)
    return wavs


def write_output(out_dir, path, wav, cfg):
    out = out_dir / (Path(path).stem + ".wav")
    write_wav(out, wav, cfg.sample_rate)
    tqdm.write(f"wrote {out} ({len(wav)} samples)")


def add_source_args(p, input_help):
    """The model (``--model`` | ``--model_dir``) and input (``--input`` | ``--input_dir``) flags, shared with
    ``wavenet.evaluate``."""
    model = p.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="vocoder .keras file (with its .json beside it)")
    model.add_argument("--model_dir", help="folder holding vocoder.keras + vocoder.json")
    inputs = p.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--input", nargs="+", help=input_help)
    inputs.add_argument("--input_dir", help="folder: every .wav/.flac in it (any rate and channels)")


def add_synthesis_args(p):
    """Griffin-Lim iterations, WaveNet sampling and batching, bad-input handling, seed."""
    p.add_argument("--n_iter", type=int, default=32, help="Griffin-Lim iterations")
    p.add_argument("--skip_bad", action="store_true", help="skip bad inputs (a notice each) instead of stopping")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (0: most likely value)")
    p.add_argument("--prob_floor", type=float, default=0.0,
                   help="µ-law vocoders: lower every code's probability by this much before sampling "
                        "(LPCNet uses 0.002; less hiss); 0: plain sampling")
    p.add_argument("--postfilter_iters", type=int, default=3,
                   help="wavenet_pf: iterations of the mel post-filter (each STFT frame's mel bands pulled toward "
                        "the input mel, phase kept)")
    p.add_argument("--postfilter_db", type=float, default=12.0,
                   help="wavenet_pf: largest correction per mel band and iteration, in dB")
    p.add_argument("--batch_size", type=int, default=8, help="utterances generated at once")
    p.add_argument("--speaker", type=int, default=None, help="speaker id for globally conditioned vocoders")
    p.add_argument("--seed", type=int, default=0, help="sampling / Griffin-Lim initial phase seed")


def check_synthesis_args(args):
    """Refuse out-of-range :func:`add_synthesis_args` values with one line."""
    if args.batch_size < 1:
        raise InputError(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.n_iter < 1 or args.postfilter_iters < 1:
        raise InputError(f"--n_iter and --postfilter_iters must be >= 1, got {args.n_iter} and "
                         f"{args.postfilter_iters}")
    if args.postfilter_db <= 0:
        raise InputError(f"--postfilter_db must be > 0, got {args.postfilter_db}")
    if args.temperature < 0 or not 0 <= args.prob_floor < 1:
        raise InputError(f"--temperature must be >= 0 and --prob_floor in [0, 1), got {args.temperature} "
                         f"and {args.prob_floor}")


def build_parser():
    p = argparse.ArgumentParser(prog="python -m wavenet.vocode",
                                description="Vocode mel spectrograms or audio files with a trained WaveNet "
                                            "(or Griffin-Lim from the same mel).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_source_args(p, ".npy mels [frames, n_mels] in [0, 1] or audio files")
    p.add_argument("--out_dir", required=True, help="folder for <stem>.wav outputs")
    p.add_argument("--method", choices=METHODS, default="wavenet_pf",
                   help="WaveNet samples (wavenet), the same pulled toward the mel by the post-filter (wavenet_pf), "
                        "the post-filter alone on random-phase noise (noise_pf, a control), or Griffin-Lim from the "
                        "same mel (the baseline)")
    add_synthesis_args(p)
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    check_synthesis_args(args)
    paths = input_paths(args)
    ckpt = model_checkpoint(args)
    # Keras loads here, not at the top: --help and flag errors answer at once instead of after ~5 s.
    from wavenet.model import load_vocoder

    model, cfg = load_vocoder(ckpt)
    check_model(model, cfg, ckpt)
    items = read_inputs(paths, cfg, args.skip_bad)   # validate every input before writing anything
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocode_items(model, cfg, items, out_dir, args.method, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
