"""Train WaveGAN, SpecGAN or TiFGAN with WGAN-GP on prepared spoken digits (resumable).

    python -m wavegan.train --model wavegan --preset wavegan_cpu --data_dir DATA --out_dir RUN \
        [--steps N] [--phase_shuffle 2] [--seed 0] [--no-resume]

Settings come from ``--preset NAME`` (``wavegan/presets/NAME.json``; default
``{model}_cpu``; ``{model}_paper`` are the published settings) and every flag
given wins (``dsp.presets``). DATA is the output of ``python -m wavegan.data``
(``train.npz``: audio float32 [n, length]); clips of another length are
padded or cut at the end to the model's (``wavegan.data.fit_length``).

One step is one GENERATOR iteration: ``n_critic`` critic updates on
``n_critic`` fresh real batches, then one generator update (`wavegan.wgan`).
The batches are drawn with replacement, batch ``s`` a pure function of
(seed, s) (`RealBatches`), so a resumed run sees the batches an uninterrupted
one would. SpecGAN's per-frequency statistics are computed on the training
audio and stored in the configuration (``spec_mean``, ``spec_std``), and so is
TiFGAN's reference level (``tif_peak``).

Written to RUN:
  config.json            the resolved configuration (written with every checkpoint)
  generator.keras        the generator (what ``wavegan.generate`` loads)
  last.weights.h5        generator, critic and both optimizers, the step stored inside
  state.json             step and accumulated wall time (a copy of the stored state)
  log.csv                step, d_loss, g_loss, gp, wasserstein, wall_time (one row a step)
  samples/step_XXXXXX_k.wav   every --sample_every steps, fixed latents
  snapshots/step_XXXXXX/ generator.keras + config.json every --keep_every steps
                         (inception score against iterations)

Speed: after 50 steps (or at the end of a shorter run) one line gives the wall and
CPU seconds per step over steps 2-50 (the first traces the critic and generator
graphs, 10-16 s here); CPU seconds do not depend on other jobs sharing the
cores. ``--jit_compile`` (XLA) was slower on the 2 CPU cores (SpecGAN d=8: a
36 s compile, then about 2x the time per step), hence off by default.

Resume (default ``--resume``): RUN/last.weights.h5 is loaded with its step,
optimizer slots and noise-stream positions (``dsp.resume``); its architecture
settings (and its learning rate) are kept from RUN/config.json; ``--steps`` may be
raised. ``--new_learning_rate LR`` changes the step size of both optimizers from the
resumed step on, keeping their moments; config.json records it in
``learning_rate_history`` (``[[step, rate], ...]``). ``--no-resume`` starts over (the
old log is replaced).
"""
import argparse
import sys
import time
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from dsp.audio import InputError, cli_main, write_wav
from dsp.presets import load_config, save_config
from dsp.presets import parse_args as parse_with_preset
from dsp.resume import checkpoint_state, restore_seed_states, save_checkpoint
from wavegan import spectrograms
from wavegan.data import fit_length, load_split
from wavegan.generate import outputs_to_audio
from wavegan.models import build_pair, sample_latent
from wavegan.train_log import StepLog, read_state
from wavegan.wgan import WGANGP

PRESET_DIR = Path(__file__).resolve().parent / "presets"
MODELS = ("wavegan", "specgan", "tifgan")
# settings that fix the networks or their data: a resumed run keeps the stored ones
ARCH_KEYS = ("model", "d", "length", "sample_rate", "latent_dim", "phase_shuffle", "n_critic",
             "gp_weight", "learning_rate", "beta_1", "beta_2", "batch_size", "seed",
             "spec_mean", "spec_std", "tif_peak")
TIMING_STEPS = 50


def build_parser():
    p = argparse.ArgumentParser(prog="python -m wavegan.train",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--data_dir", required=True, help="output folder of python -m wavegan.data")
    p.add_argument("--out_dir", required=True, help="run folder (checkpoints, log, samples)")
    p.add_argument("--steps", type=int, default=1000, help="generator iterations in total")
    p.add_argument("--d", type=int, default=64, help="model size")
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--length", type=int, default=8192, help="samples per clip (WaveGAN)")
    p.add_argument("--sample_rate", type=int, default=8000)
    p.add_argument("--latent_dim", type=int, default=100)
    p.add_argument("--phase_shuffle", type=int, default=2, help="WaveGAN critic's n (0: off)")
    p.add_argument("--n_critic", type=int, default=5)
    p.add_argument("--gp_weight", type=float, default=10.0)
    p.add_argument("--learning_rate", type=float, default=1e-4,
                   help="Adam's step size at the start (a resumed run keeps its own)")
    p.add_argument("--new_learning_rate", type=float, default=None,
                   help="from the resumed step on, both optimizers use this step size "
                        "(a schedule change, recorded in config.json's learning_rate_history)")
    p.add_argument("--beta_1", type=float, default=0.5)
    p.add_argument("--beta_2", type=float, default=0.9)
    p.add_argument("--inversion", choices=spectrograms.INVERSIONS, default="pghi",
                   help="spectrogram models: how samples become audio")
    p.add_argument("--gl_iters", type=int, default=100, help="Griffin-Lim iterations")
    p.add_argument("--save_every", type=int, default=200, help="steps between checkpoints")
    p.add_argument("--sample_every", type=int, default=500, help="steps between sample wavs (0: never)")
    p.add_argument("--keep_every", type=int, default=0,
                   help="steps between kept generator snapshots (0: none)")
    p.add_argument("--n_samples", type=int, default=4, help="sample wavs each time")
    p.add_argument("--jit_compile", action=argparse.BooleanOptionalAction, default=False,
                   help="XLA-compile the step (measure: often slower on CPU)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from OUT_DIR/last.weights.h5; --no-resume starts over")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def parse_args(argv=None):
    """Flags resolved with the preset (default ``{model}_cpu``)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--model", choices=MODELS)
    first, _ = pre.parse_known_args(argv)
    default = f"{first.model or 'wavegan'}_cpu"
    args = parse_with_preset(build_parser(), PRESET_DIR, argv, default=default)
    preset_model = Path(args.preset).stem.split("_")[0]
    if preset_model in MODELS and preset_model != args.model:
        raise InputError(f"--preset {args.preset} is a {preset_model} preset, not for --model "
                         f"{args.model}")
    rate = args.new_learning_rate
    if rate is not None and not (np.isfinite(rate) and rate > 0):
        # refused before any model is built or checkpoint read
        raise InputError(f"--new_learning_rate must be a positive number, got {rate}")
    return args


class RealBatches(keras.utils.PyDataset):
    """Real training examples for one generator step: ``n_critic`` batches stacked.

    Item ``s`` is a pure function of (seed, s): ``n_critic * batch_size`` examples
    drawn with replacement by ``numpy.random.default_rng([seed, s])``.

    Args:
        data: float32 [n, ...] (audio [n, length, 1] or images [n, 128, 128, 1]).
        batch_size, n_critic: ints.
        seed: int.
        steps: int, the number of items (generator steps).
    """

    def __init__(self, data, batch_size, n_critic, seed, steps):
        super().__init__()
        self.data, self.count = data, int(batch_size) * int(n_critic)
        self.seed, self.steps = int(seed), int(steps)

    def __len__(self):
        return self.steps

    def __getitem__(self, step):
        rng = np.random.default_rng([self.seed, int(step)])
        return self.data[rng.integers(0, len(self.data), self.count)]


def training_examples(config, data_dir):
    """(examples float32 [n, ...], config with SpecGAN's statistics) from DATA/train.npz.

    Returns:
        WaveGAN: [n, length, 1] audio; SpecGAN / TiFGAN: [n, 128, 128, 1] images.
    """
    audio, _ = load_split(data_dir, "train")
    if len(audio) == 0:
        raise InputError(f"{data_dir}/train.npz: no training clips")
    kind = config["model"]
    length = int(config["length"]) if kind == "wavegan" else spectrograms.LENGTH
    if audio.shape[1] != length:
        print(f"note: clips of {audio.shape[1]} samples padded or cut at the end to {length}",
              file=sys.stderr)
        audio = np.stack([fit_length(x, length) for x in audio])
    if kind == "wavegan":
        return audio[..., None], config
    stats = None
    if kind == "specgan":
        if config.get("spec_mean") is None:
            mean, std = spectrograms.specgan_stats(audio)
            config = {**config, "spec_mean": mean.tolist(), "spec_std": std.tolist()}
        stats = (config["spec_mean"], config["spec_std"])
    elif config.get("tif_peak") is None:
        config = {**config, "tif_peak": spectrograms.tifgan_peak(audio)}
    return spectrograms.to_features(audio, kind, stats)[..., None], config


def build_gan(config, jit_compile=False):
    """A compiled, built `WGANGP` for a configuration."""
    generator, discriminator = build_pair(config)
    gan = WGANGP(generator, discriminator, config["latent_dim"], config["n_critic"],
                 config["gp_weight"], seed=config["seed"])

    def adam():
        return keras.optimizers.Adam(config["learning_rate"], beta_1=config["beta_1"],
                                     beta_2=config["beta_2"])

    gan.compile(g_optimizer=adam(), d_optimizer=adam(), jit_compile=bool(jit_compile))
    gan.build()
    return gan


def resolve(args):
    """(configuration, checkpoint to resume or None) for this run."""
    out = Path(args.out_dir)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    config.setdefault("spec_mean", None)
    config.setdefault("spec_std", None)
    config.setdefault("tif_peak", None)
    if config["model"] != "wavegan":
        config["length"], config["phase_shuffle"] = spectrograms.LENGTH, 0
    last = out / "last.weights.h5"
    if not (args.resume and last.is_file()):
        return config, None
    stored = load_config(out / "config.json")
    if stored.get("model") != config["model"]:
        raise InputError(f"{out}: holds a {stored.get('model')} run, not {config['model']} "
                         f"(another --out_dir, or --no-resume to start over)")
    changed = sorted(k for k in ARCH_KEYS if k in stored and stored[k] != config[k]
                     and k not in ("spec_mean", "spec_std", "tif_peak"))
    if args.new_learning_rate is not None:  # the stored rate is replaced, not kept
        changed = [k for k in changed if k != "learning_rate"]
    if changed:
        print(f"note: resuming {out} with its own {', '.join(changed)}", file=sys.stderr)
    config.update({k: stored[k] for k in ARCH_KEYS if k in stored})
    if stored.get("learning_rate_history"):
        config["learning_rate_history"] = stored["learning_rate_history"]
    return config, last


def save_all(gan, out, config, step, wall, keep_every):
    """config.json, generator.keras, then the resume point last.weights.h5 (+ state.json)."""
    save_config(out / "config.json", config)
    save_checkpoint(gan.generator, out / "generator.keras")
    save_checkpoint(gan, out / "last.weights.h5", {"step": step, "wall_time": wall},
                    state_path=out / "state.json")
    if keep_every and step % keep_every == 0:
        snap = out / "snapshots" / f"step_{step:06d}"
        snap.mkdir(parents=True, exist_ok=True)
        save_config(snap / "config.json", {**config, "step": step})
        save_checkpoint(gan.generator, snap / "generator.keras")


def write_samples(gan, out, config, step, z):
    """Audio of the fixed latents `z` [k, latent_dim] as samples/step_XXXXXX_k.wav."""
    audio = outputs_to_audio(np.asarray(gan.generator(z, training=False)), config)
    for k, clip in enumerate(audio):
        write_wav(out / "samples" / f"step_{step:06d}_{k}.wav", clip, config["sample_rate"])


def restore(gan, checkpoint):
    """Load a resume point into `gan`; returns (step, wall time) stored with it."""
    try:
        gan.load_weights(str(checkpoint))
    except Exception as exc:  # h5py and Keras raise many types for a cut or foreign file
        reason = next((ln for ln in str(exc).splitlines() if ln.strip()), "")[:200]
        raise InputError(f"{checkpoint}: cannot resume ({type(exc).__name__}: {reason}); "
                         f"--no-resume starts over") from None
    state = checkpoint_state(checkpoint) or read_state(checkpoint.parent / "state.json")
    restore_seed_states(gan, state)
    return int(state.get("step", 0)), float(state.get("wall_time", 0.0))


def change_learning_rate(gan, config, step, learning_rate):
    """Both optimizers take `learning_rate` from `step` on; `config` records when.

    The Adam moments are kept: only the step size changes (a restored checkpoint holds
    the step size it was saved with, so it is set after the restore).
    """
    learning_rate = float(learning_rate)
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        optimizer.learning_rate = learning_rate
    if learning_rate != config["learning_rate"]:
        history = config.get("learning_rate_history") or [[0, config["learning_rate"]]]
        # a rate set again at the same step (or on a fresh run, at step 0) replaces the entry
        config["learning_rate_history"] = [h for h in history if h[0] < step] + [
            [int(step), learning_rate]]
        config["learning_rate"] = learning_rate
        print(f"learning rate {learning_rate:g} from step {step}", file=sys.stderr)


def report_timing(log):
    """One line of the wall and CPU seconds per step so far (`StepLog.timing`)."""
    timing = log.timing(TIMING_STEPS)
    if timing:
        print(f"\ntiming: {timing[0]:.3f} s/step wall, {timing[1]:.3f} CPU-s/step "
              f"(steps 2-{min(TIMING_STEPS, len(log.times))} of this process)", file=sys.stderr)


def train(args):
    """Train (or resume) with the resolved flags of `parse_args`; returns the log's last row."""
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "samples").mkdir(exist_ok=True)
    config, checkpoint = resolve(args)
    keras.utils.set_random_seed(config["seed"])
    examples, config = training_examples(config, args.data_dir)
    gan = build_gan(config, args.jit_compile)
    step, wall0 = restore(gan, checkpoint) if checkpoint else (0, 0.0)
    if checkpoint:
        print(f"resuming {out} at step {step}", file=sys.stderr)
    if args.new_learning_rate is not None:
        change_learning_rate(gan, config, step, args.new_learning_rate)
    save_config(out / "config.json", config)
    n_params = [m.count_params() for m in (gan.generator, gan.discriminator)]
    print(f"{config['model']}: generator {n_params[0]:,} and critic {n_params[1]:,} "
          f"parameters; {len(examples)} training examples {examples.shape[1:]}", file=sys.stderr)
    batches = RealBatches(examples, config["batch_size"], config["n_critic"], config["seed"],
                          args.steps)
    z_fixed = sample_latent(np.random.default_rng([config["seed"], 7]), args.n_samples,
                            config["latent_dim"])
    log = StepLog(out / "log.csv", step)
    start, row = time.time(), None
    bar = tqdm(total=args.steps, initial=step, disable=args.quiet or None, unit="step",
               file=sys.stderr)
    while step < args.steps:
        logs = gan.train_iteration(batches[step])
        step += 1
        row = log.write(step, logs, wall0 + time.time() - start)
        bar.update(1)
        bar.set_postfix(d=f"{row['d_loss']:.3f}", g=f"{row['g_loss']:.3f}", refresh=False)
        if not np.isfinite(row["d_loss"]) or not np.isfinite(row["g_loss"]):
            raise InputError(f"{out}: loss is not finite at step {step} (see log.csv)")
        # a snapshot step is always a checkpoint too, whether or not save_every divides it
        keep = args.keep_every and step % args.keep_every == 0
        if step % args.save_every == 0 or keep or step == args.steps:
            save_all(gan, out, config, step, row["wall_time"], args.keep_every)
        if args.sample_every and (step % args.sample_every == 0 or step == args.steps):
            write_samples(gan, out, config, step, z_fixed)
        if len(log.times) == TIMING_STEPS:
            report_timing(log)
    bar.close()
    if len(log.times) < TIMING_STEPS:
        report_timing(log)
    print(f"done: {step} steps; {out / 'generator.keras'}")
    return row


@cli_main
def main(argv=None):
    train(parse_args(argv))


if __name__ == "__main__":
    main()
