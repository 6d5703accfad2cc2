"""ResGAN two-stage training (stage 1: pulse model, stage 2: GAN noise model).

Both stages are resumable: at the end of every epoch a backup (weights and
optimizer state) and a small JSON state are written atomically to
``<model_dir>``; re-running the same command continues after the last
finished epoch (``--restart`` starts over). Checkpoint files:

* ``pulse_model.keras`` -- best pulse model (lowest held-out waveform MSE);
  ``pulse_backup.keras`` + ``pulse_state.json`` -- resume point;
* ``generator.keras`` (latest), ``generator_eNN.keras`` (every epoch),
  ``discriminator.keras``; ``gan_backup.weights.h5`` + ``gan_state.json``;
* ``*.json`` next to each model: the run configuration.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import data_utils  # noqa: E402
import models  # noqa: E402
import resgan_figures  # noqa: E402
from dsp.audio import InputError  # noqa: E402
from resgan_gan import ResGAN  # noqa: E402


# --------------------------------------------------------------------------- io helpers

def atomic_json(path, obj):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def atomic_save(model, path, weights_only=False):
    """``model.save`` / ``save_weights`` to a temp name, then rename."""
    path = Path(path)
    suffix = ".weights.h5" if weights_only else ".keras"
    tmp = path.with_name(path.name[: -len(suffix)] + ".tmp" + suffix)
    if weights_only:
        model.save_weights(tmp)
    else:
        model.save(tmp)
    os.replace(tmp, path)


def read_json(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


# --------------------------------------------------------------------------- data

class EpochSlice(keras.utils.PyDataset):
    """At most ``steps`` random batches per epoch of a batch dataset, each
    batch the concatenation of ``mix`` base batches.

    ``data_utils.PulseSequence`` draws each batch from one data file, and a
    packaged file holds a few utterances of one or two speakers; BatchNorm
    then normalises by one speaker's statistics at a time while its moving
    averages (used at inference) average over speakers. Mixing ``mix``
    smaller base batches from randomly chosen files gives each training
    batch the corpus-wide statistics inference sees.

    Args:
        base: a PyDataset yielding ``(x, y)`` (e.g. ``data_utils.PulseSequence``
            with ``batch_size = batch // mix``).
        steps: int or None (all batches), batches per epoch.
        seed: int; the batch order is a fresh permutation every epoch.
        pulse_targets: bool; yield ``(x, {"wave": y, "spec": y})`` for the
            two-output pulse model.
        epoch: int, epoch to start from (keeps shuffles distinct on resume).
        mix: int >= 1, base batches per batch (default 1).
    """

    def __init__(self, base, steps=None, seed=0, pulse_targets=False, epoch=0, mix=1, **kwargs):
        super().__init__(**kwargs)
        self.base = base
        self.steps = steps
        self.seed = seed
        self.pulse_targets = pulse_targets
        self.epoch = epoch
        self.mix = max(1, int(mix))
        for _ in range(epoch):
            base.on_epoch_end()
        self._reorder()

    def _reorder(self):
        n = len(self.base)
        order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        n_batches = max(1, n // self.mix)
        if self.steps:
            n_batches = min(n_batches, self.steps)
        self._groups = [order[(k * self.mix) % n: (k * self.mix) % n + self.mix]
                        for k in range(n_batches)]

    def __len__(self):
        return len(self._groups)

    def __getitem__(self, i):
        parts = [self.base[int(j)] for j in self._groups[i]]
        x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        return (x, {"wave": y, "spec": y}) if self.pulse_targets else (x, y)

    def on_epoch_end(self):
        self.base.on_epoch_end()
        self.epoch += 1
        self._reorder()


def mixed_batches(files, args, seed, steps, epoch=0, pulse_targets=False):
    """:class:`EpochSlice` of ``--batch_size`` batches mixing ``--mix_files``
    base batches (one data file each) of ``--batch_size // --mix_files`` rows."""
    mix = max(1, min(getattr(args, "mix_files", 1), args.batch_size))
    seq = data_utils.PulseSequence(files, batch_size=args.batch_size // mix,
                                   context_len=args.rnn_context_len, seed=seed)
    return EpochSlice(seq, steps, seed, pulse_targets=pulse_targets, epoch=epoch, mix=mix)


def split_train_val(args):
    """Training files and the held-out file (the last training file when
    there are several, else the first test file)."""
    files = data_utils.list_data_files(args.data_dir, args.max_files)
    if len(files) > 1:
        return files[:-1], files[-1]
    return files, data_utils.list_data_files(args.testdata_dir)[0]


def load_frames(path, context_len, max_frames=0, seed=0):
    """``(x [n, L, 22], y [n, 400], voiced [n] bool)`` of a data file; a random
    subset of ``max_frames`` frames (kept in order) when given."""
    data = data_utils.read_netcdf(path)
    x = data_utils.expand_context(data.inputs, data.seq_lengths, context_len)
    y = data.targets
    voiced = data.inputs[:, 21] * data.input_stdevs[21] + data.input_means[21] > 0.5
    if max_frames and len(x) > max_frames:
        keep = np.sort(np.random.default_rng(seed).choice(len(x), max_frames, replace=False))
        x, y, voiced = x[keep], y[keep], voiced[keep]
    return x.astype(np.float32), y.astype(np.float32), voiced


def figure_frames(voiced, n=3):
    """Indices of ``n`` frames to plot: voiced ones spread over the set."""
    idx = np.flatnonzero(voiced)
    if len(idx) < n:
        idx = np.arange(len(voiced))
    return idx[np.linspace(0, len(idx) - 1, n).astype(int)]


# --------------------------------------------------------------------------- callbacks

class PulseCheckpoint(keras.callbacks.Callback):
    """Stage 1: best model, early stopping (state survives a resume), backup."""

    def __init__(self, model_dir, config, patience=5, monitor="val_wave_loss", state=None):
        super().__init__()
        self.dir = Path(model_dir)
        self.config = config
        self.patience = patience
        self.monitor = monitor
        self.state = state or {"epoch": 0, "best": None, "wait": 0, "stopped": False}

    def on_epoch_end(self, epoch, logs=None):
        value = float(logs[self.monitor])
        best = self.state["best"]
        if best is None or value < best:
            self.state.update(best=value, wait=0, best_epoch=epoch + 1)
            atomic_save(self.model, self.dir / "pulse_model.keras")
            atomic_json(self.dir / "pulse_model.json", {**self.config, "best_epoch": epoch + 1,
                                                         self.monitor: value})
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.patience:
                print(f"early stopping: {self.monitor} has not improved for {self.patience} epochs")
                self.state["stopped"] = True
                self.model.stop_training = True
        self.state["epoch"] = epoch + 1
        atomic_save(self.model, self.dir / "pulse_backup.keras")
        atomic_json(self.dir / "pulse_state.json", self.state)


class GanCheckpoint(keras.callbacks.Callback):
    """Stage 2: generator every epoch, discriminator, resumable backup."""

    def __init__(self, model_dir, config):
        super().__init__()
        self.dir = Path(model_dir)
        self.config = config

    def on_epoch_end(self, epoch, logs=None):
        gan = self.model
        atomic_save(gan.generator, self.dir / f"generator_e{epoch + 1:02d}.keras")
        atomic_save(gan.generator, self.dir / "generator.keras")
        atomic_save(gan.discriminator, self.dir / "discriminator.keras")
        atomic_json(self.dir / "generator.json", {**self.config, "epoch": epoch + 1})
        atomic_save(gan, self.dir / "gan_backup.weights.h5", weights_only=True)
        atomic_json(self.dir / "gan_state.json", {"epoch": epoch + 1})


class PulseFigures(keras.callbacks.Callback):
    """Every ``every`` batches: reference vs model pulses (waveform, spectrum)."""

    def __init__(self, path, x, y, every=100, gan=False, title=""):
        super().__init__()
        self.path, self.x, self.y = path, x, y
        self.every, self.gan, self.title = max(1, int(every)), gan, title
        self._seen = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def plot(self, label=""):
        window = models.edge_window()
        if self.gan:
            pulse = keras.ops.convert_to_numpy(self.model.smooth_pulse(self.x))
            fake = self.model.generator([pulse, np.random.default_rng(0).standard_normal(
                pulse.shape).astype("float32")], training=False)["wave"]
            curves = {"reference": self.y * window,
                      "pulse model": pulse,
                      "pulse model + GAN": keras.ops.convert_to_numpy(fake)}
        else:
            pred = self.model(self.x, training=False)["wave"]
            curves = {"reference": self.y, "pulse model": keras.ops.convert_to_numpy(pred)}
        resgan_figures.plot_pulses(self.path, curves, f"{self.title} {label}")

    def on_train_batch_end(self, batch, logs=None):
        self._seen += 1
        if self._seen % self.every == 0:
            self.plot(f"(epoch {self._epoch + 1}, batch {batch + 1})")

    def on_train_end(self, logs=None):
        self.plot(f"(end, epoch {self._epoch + 1})")


# --------------------------------------------------------------------------- stages

def _config(args):
    return {k: v for k, v in vars(args).items() if not callable(v)}


def build_pulse_trainer(args):
    model = models.build_pulse_model(context_len=args.rnn_context_len,
                                     bn_momentum=getattr(args, "bn_momentum", 0.99),
                                     output_gain=getattr(args, "output_gain", models.PULSE_RMS))
    model.compile(optimizer=keras.optimizers.Adam(args.lr_pulse),
                  loss={"wave": "mse", "spec": models.SpectralMSE()},
                  loss_weights={"wave": 1.0, "spec": args.spectral_weight})
    return model


def train_pulse_model(args):
    """Stage 1. Returns the path of the best pulse model."""
    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    train_files, val_file = split_train_val(args)
    state = None if args.restart else read_json(model_dir / "pulse_state.json")
    backup = model_dir / "pulse_backup.keras"
    if state and backup.is_file():
        if state.get("stopped") or state["epoch"] >= args.epochs_pulse:
            print(f"stage 1 already finished ({state['epoch']} epochs, best "
                  f"val waveform MSE {state['best']:.3g}); --restart to train again")
            return model_dir / "pulse_model.keras"
        model = keras.models.load_model(backup)
        print(f"stage 1: resuming after epoch {state['epoch']}")
    else:
        state, model = None, build_pulse_trainer(args)
    initial_epoch = state["epoch"] if state else 0
    print(f"stage 1: pulse model ({model.count_params()} parameters), "
          f"{len(train_files)} training file(s), held-out {val_file}")
    data = mixed_batches(train_files, args, args.seed, args.steps_per_epoch, initial_epoch,
                         pulse_targets=True)
    vx, vy, vvoiced = load_frames(val_file, args.rnn_context_len, args.val_frames, args.seed)
    fig_idx = figure_frames(vvoiced)
    log = model_dir / "pulse_log.csv"
    callbacks = [
        keras.callbacks.CSVLogger(str(log), append=initial_epoch > 0),
        PulseCheckpoint(model_dir, _config(args), args.patience, state=state),
        PulseFigures(Path(args.figures_dir) / "resgan_pulse_progress.png", vx[fig_idx], vy[fig_idx],
                     args.plot_every, title="stage 1: reference vs pulse model"),
    ]
    model.fit(data, validation_data=(vx, {"wave": vy, "spec": vy}),
              validation_batch_size=256, epochs=args.epochs_pulse,
              initial_epoch=initial_epoch, callbacks=callbacks, verbose=args.verbose)
    resgan_figures.plot_losses(Path(args.figures_dir) / "resgan_pulse_loss.png", log,
                               ["wave_loss", "val_wave_loss"], "stage 1: pulse model waveform MSE")
    return model_dir / "pulse_model.keras"


def load_pulse_model(model_dir):
    path = Path(model_dir) / "pulse_model.keras"
    if not path.is_file():
        raise InputError(f"{path}: no trained pulse model (run --mode train_pulse_model first)")
    return keras.models.load_model(path, compile=False)


def build_gan(args, pulse_model):
    momentum = getattr(args, "bn_momentum", 0.99)
    gan = ResGAN(pulse_model, models.build_generator(bn_momentum=momentum),
                 models.build_discriminator(bn_momentum=momentum),
                 peek_weight=args.peek_weight, seed=args.seed)
    gan.compile(g_optimizer=keras.optimizers.Adam(args.lr_g),
                d_optimizer=keras.optimizers.SGD(args.lr_d))
    gan.build()
    return gan


def train_noise_model(args):
    """Stage 2 (the pulse model is loaded and frozen)."""
    model_dir = Path(args.model_dir)
    pulse_model = load_pulse_model(model_dir)
    keras.utils.set_random_seed(args.seed)
    gan = build_gan(args, pulse_model)
    state = None if args.restart else read_json(model_dir / "gan_state.json")
    initial_epoch = 0
    if state and (model_dir / "gan_backup.weights.h5").is_file():
        if state["epoch"] >= args.epochs_gan:
            print(f"stage 2 already finished ({state['epoch']} epochs); --restart to train again")
            return model_dir / "generator.keras"
        gan.load_weights(model_dir / "gan_backup.weights.h5")
        initial_epoch = state["epoch"]
        print(f"stage 2: resuming after epoch {initial_epoch}")
    train_files, val_file = split_train_val(args)
    print(f"stage 2: generator ({gan.generator.count_params()} parameters), discriminator "
          f"({gan.discriminator.count_params()}), {len(train_files)} training file(s)")
    data = mixed_batches(train_files, args, args.seed + 1,
                         args.steps_per_epoch_gan or args.steps_per_epoch, initial_epoch)
    vx, vy, vvoiced = load_frames(val_file, args.rnn_context_len, 64, args.seed)
    fig_idx = figure_frames(vvoiced)
    log = model_dir / "gan_log.csv"
    callbacks = [
        keras.callbacks.CSVLogger(str(log), append=initial_epoch > 0),
        GanCheckpoint(model_dir, _config(args)),
        PulseFigures(Path(args.figures_dir) / "resgan_gan_progress.png", vx[fig_idx], vy[fig_idx],
                     args.plot_every, gan=True,
                     title="stage 2: reference vs pulse model vs GAN (edge-windowed)"),
    ]
    t0 = time.time()
    gan.fit(data, epochs=args.epochs_gan, initial_epoch=initial_epoch, callbacks=callbacks,
            verbose=args.verbose)
    print(f"stage 2: {time.time() - t0:.0f} s")
    resgan_figures.plot_losses(Path(args.figures_dir) / "resgan_gan_loss.png", log,
                               ["g_adv", "g_peek", "d_real", "d_fake"],
                               "stage 2: least-squares GAN losses")
    return model_dir / "generator.keras"
