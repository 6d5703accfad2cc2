"""Generate spoken digits with a trained WaveGAN, SpecGAN or TiFGAN.

    python -m wavegan.generate --model_dir pretrained/wavegan --n 100 --out_dir D [--seed S]
        [--inversion griffinlim|pghi] [--interpolate]

writes ``D/000.wav ...`` (the model's rate, 8 kHz for FSDD, and length) and
``D/grid.png`` (log-magnitude spectrograms of the first 16). ``--interpolate``
makes the n clips a straight line in latent space from the latent of seed S to
that of seed S + 1. Spectrogram models are inverted with the configuration's
``inversion`` unless ``--inversion`` is given. Every file is written
atomically; a missing or corrupt model gives one line (exit 1).

For other code (the evaluation): ``load_generator(model_dir) -> (model, config)``
and ``sample(model, config, n, seed) -> float32 [n, samples]``.
"""
import argparse
from pathlib import Path

import numpy as np

from dsp.audio import InputError, atomic_output, cli_main, write_wav
from dsp.backend import load_keras_model
from dsp.presets import load_config
from dsp.spectral import stft
from wavegan import phase_shuffle  # noqa: F401  (registers PhaseShuffle for loading)
from wavegan import spectrograms
from wavegan.models import sample_latent

GRID_CLIPS = 16
BATCH = 64


def outputs_to_audio(outputs, config, inversion=None, seed=0):
    """Generator outputs as audio.

    Args:
        outputs: WaveGAN float [n, length, 1]; SpecGAN / TiFGAN [n, 128, 128, 1].
        config: the model's configuration (``model``; SpecGAN's ``spec_mean``,
            ``spec_std``; ``inversion`` and ``gl_iters``).
        inversion: "griffinlim" or "pghi", or None for the configuration's.
        seed: seed of the inversion's random phases (clip k: seed + k).
    Returns:
        float32 [n, samples].
    """
    outputs = np.asarray(outputs, dtype=np.float32)
    kind = config["model"]
    if kind == "wavegan":
        return outputs.reshape(outputs.shape[0], -1)
    inversion = inversion or config.get("inversion") or "pghi"
    stats = spectrograms.config_stats(config)
    return spectrograms.invert_batch(outputs, kind, stats, inversion,
                                     int(config.get("gl_iters", 100)), seed)


def load_generator(model_dir):
    """The generator and configuration of a training run or shipped model folder.

    Args:
        model_dir: folder with ``generator.keras`` and ``config.json``
            (``wavegan.train``'s output folder or one of its snapshots).
    Returns:
        (keras.Model z [batch, latent_dim] -> outputs, config dict).
    Raises:
        InputError: missing folder or file, corrupt model or configuration.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError(f"{model_dir}: model folder not found")
    config = load_config(model_dir / "config.json")
    if config.get("model") not in ("wavegan", "specgan", "tifgan"):
        raise InputError(f"{model_dir / 'config.json'}: not a wavegan configuration")
    if config["model"] == "specgan" and not config.get("spec_mean"):
        raise InputError(f"{model_dir / 'config.json'}: SpecGAN without spec_mean/spec_std")
    model = load_keras_model(model_dir / "generator.keras", "generator", compile=False)
    return model, config


def generate_outputs(model, z):
    """The generator on latents z [n, latent_dim] in batches of 64 (inference mode)."""
    parts = [np.asarray(model(z[i:i + BATCH], training=False)) for i in range(0, len(z), BATCH)]
    return np.concatenate(parts) if parts else np.zeros((0,) + tuple(model.output.shape[1:]))


def sample(model, config, n, seed=0, inversion=None):
    """n random clips: z ~ U[-1, 1] from ``numpy.random.default_rng(seed)``.

    Args:
        model, config: from `load_generator`.
        n: int, number of clips.
        seed: int; the same seed gives the same clips.
        inversion: None (the configuration's) or "griffinlim" / "pghi" (spectrogram models).
    Returns:
        float32 [n, samples].
    """
    z = sample_latent(np.random.default_rng(seed), int(n), int(config.get("latent_dim", 100)))
    return outputs_to_audio(generate_outputs(model, z), config, inversion, seed)


def interpolate(model, config, n, seed=0, inversion=None):
    """n clips along the line from the latent of `seed` to that of `seed + 1`: float32 [n, samples]."""
    latent = int(config.get("latent_dim", 100))
    z0, z1 = (sample_latent(np.random.default_rng(s), 1, latent) for s in (seed, seed + 1))
    t = np.linspace(0.0, 1.0, int(n), dtype=np.float32)[:, None]
    z = (1.0 - t) * z0 + t * z1
    return outputs_to_audio(generate_outputs(model, z), config, inversion, seed)


def save_grid(path, audio, sr, title=""):
    """A grid figure of the log-magnitude spectrograms of up to 16 clips [n, samples], atomically."""
    import matplotlib  # start-up time: only the CLI draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clips = audio[:GRID_CLIPS]
    cols = 4
    rows = max(1, -(-len(clips) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 2.2 * rows), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < len(clips):
            mag = np.abs(stft(clips[k].astype(np.float32), 256, 64))
            ax.imshow(20 * np.log10(mag.T + 1e-5), origin="lower", aspect="auto",
                      vmin=-80, vmax=20, cmap="magma",
                      extent=(0, len(clips[k]) / sr, 0, sr / 2000))
            ax.set_title(f"{k:03d}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m wavegan.generate",
                                description="Generate clips with a trained WaveGAN, SpecGAN "
                                            "or TiFGAN.")
    p.add_argument("--model_dir", required=True, help="folder with generator.keras + config.json")
    p.add_argument("--n", type=int, default=100, help="number of clips")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--inversion", choices=spectrograms.INVERSIONS, default=None,
                   help="spectrogram models (default: the model's configuration)")
    p.add_argument("--interpolate", action="store_true",
                   help="a latent interpolation from seed S to seed S+1")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.n < 1:
        raise InputError("--n must be at least 1")
    model, config = load_generator(args.model_dir)
    make = interpolate if args.interpolate else sample
    audio = make(model, config, args.n, args.seed, args.inversion)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sr = int(config.get("sample_rate", 8000))
    for k, clip in enumerate(audio):
        write_wav(out / f"{k:03d}.wav", clip, sr)
    inversion = "" if config["model"] == "wavegan" else \
        f", {args.inversion or config.get('inversion', 'pghi')}"
    save_grid(out / "grid.png", audio, sr, f"{config['model']}{inversion}, seed {args.seed}")
    print(f"wrote {len(audio)} clips of {audio.shape[1]} samples at {sr} Hz and grid.png "
          f"to {out}")


if __name__ == "__main__":
    main()
