"""ResGAN two-stage training (stage 1: pulse model, stage 2: GAN noise model).

Both stages are resumable: at the end of every epoch a backup (weights and
optimizer state) and a small JSON state are written atomically to
``<model_dir>``; re-running the same command continues after the last
finished epoch (``--no-resume`` starts over). Checkpoint files:

* ``pulse_model.keras`` -- best pulse model (lowest held-out waveform MSE);
  ``pulse_backup.keras`` + ``pulse_state.json`` -- resume point;
* ``generator.keras`` (latest), ``generator_eNN.keras`` (every epoch),
  ``discriminator.keras``; ``gan_backup.weights.h5`` + ``gan_state.json``;
* ``stats.json``: the training data's input normalisation and mean pulses
  (``resgan.model_folder``), for copy-synthesis and evaluation of new recordings;
* ``pulse_model.json``, ``generator.json`` beside the models: the resolved
  configuration of the run (every flag, the preset named), ``dsp.presets.save_config``.

A resumed run equals an uninterrupted one (tests/resgan/test_resgan_resume.py):
each backup holds its own state (``dsp.resume.save_checkpoint``: the epoch, early
stopping and, in stage 2, the position of the generator's noise stream), the
batches of epoch e depend on (seed, e, batch) only (``resgan.dataset``, fit with
``shuffle=False``), and the interrupted epoch restarts from its beginning.

Stage 2 is TensorFlow only (``resgan.gan``); stage 1 runs on any Keras backend.

Scale-out (``--distribute``, ``--logical_cpus``, ``--mixed_precision``; `dsp.distribute`):
`train` runs the stages inside ``distributed_training``, so models, optimizers and
restored checkpoints live in the strategy's scope and only the chief writes to
``--model_dir`` / ``--figures_dir``; ``--batch_size`` is the global batch. The
datasets' epoch comes from ``dsp.resume.EpochSync`` (first callback of both stages).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

from dsp.audio import InputError, atomic_output, notice
from dsp.distribute import distributed_training
from dsp.presets import save_config
from dsp.replicas import synchronize_batch_norm
from dsp.resume import EpochSync, checkpoint_state, restore_seed_states, resumed_csv_logger, save_checkpoint
from resgan import figures, models
from resgan.baselines import pulse_mse
from resgan.constants import PULSE_RMS
from resgan.dataset import load_frames, mixed_batches, split_train_val
from resgan.model_folder import stats_from_files, write_stats
from resgan.netcdf import list_data_files, norm_stats
from resgan.gan import ResGAN


# --------------------------------------------------------------------------- io helpers

def save_model(model, path, weights_only=False):
    """``model.save`` (``.keras``) or ``model.save_weights`` (``.weights.h5``), atomically."""
    path = Path(path)
    with atomic_output(path) as tmp:  # the temporary name keeps .keras / .weights.h5
        if weights_only:
            model.save_weights(tmp)
        else:
            model.save(tmp)


def read_json(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


# --------------------------------------------------------------------------- figures

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
            save_model(self.model, self.dir / "pulse_model.keras")
            save_config(self.dir / "pulse_model.json", {**self.config, "best_epoch": epoch + 1,
                                                         self.monitor: value})
        else:
            self.state["wait"] += 1
            if self.state["wait"] >= self.patience:
                print(f"early stopping: {self.monitor} has not improved for {self.patience} epochs")
                self.state["stopped"] = True
                self.model.stop_training = True
        self.state["epoch"] = epoch + 1
        save_checkpoint(self.model, self.dir / "pulse_backup.keras", self.state,
                        state_path=self.dir / "pulse_state.json")


class GanCheckpoint(keras.callbacks.Callback):
    """Stage 2: generator every epoch, discriminator, resumable backup."""

    def __init__(self, model_dir, config):
        super().__init__()
        self.dir = Path(model_dir)
        self.config = config

    def on_epoch_end(self, epoch, logs=None):
        gan = self.model
        save_model(gan.generator, self.dir / f"generator_e{epoch + 1:02d}.keras")
        save_model(gan.generator, self.dir / "generator.keras")
        save_model(gan.discriminator, self.dir / "discriminator.keras")
        save_config(self.dir / "generator.json", {**self.config, "epoch": epoch + 1})
        # with the position of the generator's noise stream (dsp.resume.seed_states)
        save_checkpoint(gan, self.dir / "gan_backup.weights.h5",
                        {"epoch": epoch + 1, "loss_scaling": _loss_scaling(gan)},
                        state_path=self.dir / "gan_state.json")


class LearningCurve(keras.callbacks.Callback):
    """Adds ``val_mse_pulse_{all,voiced}`` and the baselines' ``val_mse_{zero,mean_pulse}_*``
    on held-out frames to each epoch's logs (place it before the CSV logger).

    Args:
        x: ``[n, L, 22]`` held-out inputs.
        y: ``[n, 400]`` held-out target pulses.
        voiced: ``[n]`` bool.
        baselines: `PulseBaselines` of the training set.
        batch_size: inference batch.
    """

    def __init__(self, x, y, voiced, baselines, batch_size=512):
        super().__init__()
        self.x, self.y, self.voiced = x, y, np.asarray(voiced, bool)
        self.base = {f"val_{k}": v for k, v in baselines.scores(y, voiced).items()}
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        pred = np.concatenate([
            keras.ops.convert_to_numpy(self.model(self.x[s:s + self.batch_size], training=False)["wave"])
            for s in range(0, len(self.x), self.batch_size)])
        logs.update({f"val_{k}": v for k, v in pulse_mse(pred, self.y, self.voiced).items()})
        logs.update(self.base)


class HalvingLearningRate(keras.callbacks.Callback):
    """``lr = lr0 * 0.5 ** (epoch // every)``, set at the start of every epoch: a function of
    the epoch alone, so a resumed run follows the same schedule."""

    def __init__(self, lr0, every):
        super().__init__()
        self.lr0, self.every = float(lr0), int(every)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(self.lr0 * 0.5 ** (epoch // self.every))


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
            fake = self.model.generate(self.x, pulse, np.random.default_rng(0).standard_normal(
                pulse.shape).astype("float32"), training=False)["wave"]
            curves = {"reference": self.y * window,
                      "pulse model": pulse,
                      "pulse model + GAN": keras.ops.convert_to_numpy(fake)}
        else:
            pred = self.model(self.x, training=False)["wave"]
            curves = {"reference": self.y, "pulse model": keras.ops.convert_to_numpy(pred)}
        figures.plot_pulses(self.path, curves, f"{self.title} {label}")

    def on_train_batch_end(self, batch, logs=None):
        self._seen += 1
        if self._seen % self.every == 0:
            self.plot(f"(epoch {self._epoch + 1}, batch {batch + 1})")

    def on_train_end(self, logs=None):
        self.plot(f"(end, epoch {self._epoch + 1})")


# --------------------------------------------------------------------------- stages

# train.py's flags that name what training writes (checkpoints, logs, configurations in
# --model_dir; figures). --out_dir is --mode generate's output, never written by training.
OUTPUT_FLAGS = ("model_dir", "figures_dir")


def train(args, pulse=True, noise=True):
    """Stage 1 and/or stage 2 with ``args.distribute`` (`dsp.distribute`), set up once for both.

    Args:
        args: train.py's resolved flags (``config.parse_args``).
        pulse: bool, train the pulse model (stage 1).
        noise: bool, train the GAN noise model (stage 2).
    """
    with distributed_training(args, OUTPUT_FLAGS, batch_flag="batch_size") as dist:
        print(dist.describe(args.batch_size), flush=True)
        if pulse:
            train_pulse_model(args)
        if noise:
            train_noise_model(args)


def _config(args):
    return {k: v for k, v in vars(args).items() if not callable(v)}


def build_pulse_trainer(args):
    model = models.build_pulse_model(context_len=args.rnn_context_len,
                                     filters=getattr(args, "pulse_filters", 100),
                                     bn_momentum=getattr(args, "bn_momentum", 0.99),
                                     output_gain=getattr(args, "output_gain", PULSE_RMS))
    model.compile(optimizer=keras.optimizers.Adam(args.lr_pulse),
                  loss={"wave": "mse", "spec": models.SpectralMSE()},
                  loss_weights={"wave": 1.0, "spec": args.spectral_weight})
    return model


def train_pulse_model(args):
    """Stage 1. Returns the path of the best pulse model."""
    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    train_files, val_file = split_train_val(args)
    backup = model_dir / "pulse_backup.keras"
    # the state stored inside the backup always matches its weights; older backups: the JSON
    state = (checkpoint_state(backup) or read_json(model_dir / "pulse_state.json")) if args.resume else None
    if state and backup.is_file():
        if state.get("stopped") or state["epoch"] >= args.epochs_pulse:
            print(f"stage 1 already finished ({state['epoch']} epochs, best "
                  f"val waveform MSE {state['best']:.3g}); --no-resume to train again")
            return model_dir / "pulse_model.keras"
        model = keras.models.load_model(backup)
        restore_seed_states(model, state)
        print(f"stage 1: resuming after epoch {state['epoch']}")
    else:
        state, model = None, build_pulse_trainer(args)
    initial_epoch = state["epoch"] if state else 0
    synchronize_batch_norm(model)   # global-batch statistics under a strategy (dsp.replicas)
    print(f"stage 1: pulse model ({model.count_params()} parameters), "
          f"{len(train_files)} training file(s), held-out {val_file}; checkpoints in {model_dir}")
    data = mixed_batches(train_files, args, args.seed, args.steps_per_epoch, initial_epoch,
                         pulse_targets=True)
    vx, vy, vvoiced = load_frames(val_file, args.rnn_context_len, args.val_frames, args.seed)
    fig_idx = figure_frames(vvoiced)
    log = model_dir / "pulse_log.csv"
    stats = stats_from_files(train_files)  # what copy-synthesis of new recordings needs
    write_stats(model_dir, stats)
    callbacks = [
        EpochSync(data),  # batches of epoch e: (seed, e, i), whatever Keras calls on the dataset
        LearningCurve(vx, vy, vvoiced, stats.baselines),  # before the logger: its columns go to the CSV
        resumed_csv_logger(log, initial_epoch),  # without the rows of an epoch a killed run began
        PulseCheckpoint(model_dir, _config(args), args.patience, state=state),
        PulseFigures(Path(args.figures_dir) / "resgan_pulse_progress.png", vx[fig_idx], vy[fig_idx],
                     args.plot_every, title="stage 1: reference vs pulse model"),
    ]
    if getattr(args, "lr_halve_every", 0):
        callbacks.insert(1, HalvingLearningRate(args.lr_pulse, args.lr_halve_every))
    model.fit(data, validation_data=(vx, {"wave": vy, "spec": vy}),
              validation_batch_size=256, epochs=args.epochs_pulse,
              initial_epoch=initial_epoch, callbacks=callbacks, verbose=args.verbose,
              shuffle=False)  # EpochSlice orders the batches by (seed, epoch)
    figures.plot_losses(Path(args.figures_dir) / "resgan_pulse_loss.png", log,
                               ["wave_loss", "val_wave_loss"], "stage 1: pulse model waveform MSE")
    figures.plot_learning_curve(Path(args.figures_dir) / "resgan_learning_curve.png", log,
                                f"stage 1: pulse model on held-out {Path(val_file).name} vs no-input baselines")
    return model_dir / "pulse_model.keras"


def load_pulse_model(model_dir):
    path = Path(model_dir) / "pulse_model.keras"
    if not path.is_file():
        raise InputError(f"{path}: no trained pulse model (run --mode train_pulse_model first)")
    return keras.models.load_model(path, compile=False)


def _loss_scaling(gan):
    """True when the GAN's optimizers scale the loss (``mixed_float16``, `resgan.gan`)."""
    return isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)


def build_gan(args, pulse_model):
    momentum = getattr(args, "bn_momentum", 0.99)
    pitch_window = getattr(args, "gan_pitch_window", False)
    stats = norm_stats(list_data_files(args.data_dir, args.max_files)[0]) if pitch_window else None
    gan = ResGAN(pulse_model, models.build_generator(filters=getattr(args, "gan_filters", 100),
                                                     bn_momentum=momentum, pitch_window=pitch_window),
                 models.build_discriminator(bn_momentum=momentum),
                 peek_weight=args.peek_weight, seed=args.seed,
                 input_stats=stats and (stats["input_means"], stats["input_stdevs"]))
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
    backup = model_dir / "gan_backup.weights.h5"
    state = (checkpoint_state(backup) or read_json(model_dir / "gan_state.json")) if args.resume else None
    initial_epoch = 0
    if state and backup.is_file():
        if state["epoch"] >= args.epochs_gan:
            print(f"stage 2 already finished ({state['epoch']} epochs); --no-resume to train again")
            return model_dir / "generator.keras"
        if bool(state.get("loss_scaling")) != _loss_scaling(gan):  # the optimizers' variables differ
            notice(f"{backup}: saved {'without' if _loss_scaling(gan) else 'with'} float16 loss scaling, "
                   f"resumed {'with' if _loss_scaling(gan) else 'without'} (--mixed_precision on a GPU): "
                   f"the optimizers' state starts afresh")
        gan.load_weights(backup)
        restore_seed_states(gan, state)  # older backups: the noise stream restarts from the seed
        initial_epoch = state["epoch"]
        print(f"stage 2: resuming after epoch {initial_epoch}")
    synchronize_batch_norm(gan)   # global-batch statistics under a strategy (dsp.replicas)
    train_files, val_file = split_train_val(args)
    print(f"stage 2: generator ({gan.generator.count_params()} parameters), discriminator "
          f"({gan.discriminator.count_params()}), {len(train_files)} training file(s); "
          f"checkpoints in {model_dir}")
    data = mixed_batches(train_files, args, args.seed + 1,
                         args.steps_per_epoch_gan or args.steps_per_epoch, initial_epoch)
    vx, vy, vvoiced = load_frames(val_file, args.rnn_context_len, 64, args.seed)
    fig_idx = figure_frames(vvoiced)
    log = model_dir / "gan_log.csv"
    callbacks = [
        EpochSync(data),
        resumed_csv_logger(log, initial_epoch),
        GanCheckpoint(model_dir, _config(args)),
        PulseFigures(Path(args.figures_dir) / "resgan_gan_progress.png", vx[fig_idx], vy[fig_idx],
                     args.plot_every, gan=True,
                     title="stage 2: reference vs pulse model vs GAN (edge-windowed)"),
    ]
    t0 = time.time()
    gan.fit(data, epochs=args.epochs_gan, initial_epoch=initial_epoch, callbacks=callbacks,
            verbose=args.verbose, shuffle=False)
    print(f"stage 2: {time.time() - t0:.0f} s")
    figures.plot_losses(Path(args.figures_dir) / "resgan_gan_loss.png", log,
                               ["g_adv", "g_peek", "d_real", "d_fake"],
                               "stage 2: least-squares GAN losses")
    return model_dir / "generator.keras"
