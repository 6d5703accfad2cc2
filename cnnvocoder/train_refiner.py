"""Train the PGHI-refining CNN vocoder (``cnnvocoder.refiner``) on folders of recordings.

Every recording is analysed once (normalised dB spectrogram, the PGHI start, the true
STFT); each batch cuts ``--batch_size`` windows of ``--segment_frames`` frames at
random, on the fly, from (seed, epoch, batch) only. Loss: the spectral loss of
``cnnvocoder.losses`` with spectral convergence, plus ``--phase_weight`` times the
phase-derivative loss. After every epoch the whole validation recordings are
inverted and scored as ``bench/bench_inversion.py`` scores them (spectral
convergence of the re-analysed output against the input, both clipped as the
normalised spectrogram clips): ``val_sc`` in ``log.csv``. The lowest ``val_sc`` is
kept as ``MODEL_DIR/model.keras`` (+ ``model.json``); ``last.keras`` is the resume
point (optimiser and epoch inside), so re-running the same command continues.

Defaults: ``--preset cpu`` (``cnnvocoder/refiner_presets/cpu.json``) and the fixed
LJSpeech split of ``cnnvocoder.ljspeech_split`` (train clips to train, val clips to
select), under ``$AUDIOSYNTH_REALDATA``.

    python -m cnnvocoder.train_refiner --model_dir models/cnnvocoder_refiner
    python -m cnnvocoder.train_refiner --train_dir WAVS --val_dir WAVS2 --epochs 100
"""
import argparse
import csv
import json
import time
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from cnnvocoder.features import compute_spec, spec_to_magnitude
from cnnvocoder.ljspeech_split import split_part
from cnnvocoder.losses import SpectralLoss, loss_term
from cnnvocoder.refiner import (REFINER_DEFAULTS, RefinerVocoder, build_refiner, pghi_start,
                                phase_derivative_loss)
from dsp.audio import InputError, atomic_output, check_output, cli_main, load_audio
from dsp.backend import load_keras_model
from dsp.metrics import spectral_convergence
from dsp.presets import parse_args as parse_with_preset
from dsp.presets import save_config
from dsp.resume import EpochSync, checkpoint_state, resumed_csv_logger, save_checkpoint
from dsp.spectral import stft

PRESET_DIR = Path(__file__).resolve().parent / "refiner_presets"
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


def wav_files(folder, part):
    """Audio files of ``folder``, or the LJSpeech split's ``part`` when it is None."""
    if folder is None:
        try:
            return split_part(part)
        except FileNotFoundError as exc:
            raise InputError(f"{exc} (set AUDIOSYNTH_REALDATA or pass --{part}_dir)") from None
    if not Path(folder).is_dir():
        raise InputError(f"{folder}: no such folder")
    files = sorted(str(p) for p in Path(folder).iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise InputError(f"{folder}: no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    return files


def analyse(path, config):
    """One recording as arrays ``[frames, bins]``: spectrogram, PGHI phase, start
    log-magnitude, true STFT (re, im) as ``[frames, bins, 2]``; and the waveform."""
    x, _ = load_audio(path, sr=config["sr"], min_samples=config["win_length"])
    spec = compute_spec(x, config)
    phase, log_mag = pghi_start(spec, config)
    X = stft(x, config["n_fft"], config["hop_length"], config["win_length"])
    true = np.stack([X.real, X.imag], axis=-1).astype(np.float32)
    return {"name": Path(path).stem, "wav": x.astype(np.float32), "spec": spec,
            "phase": phase, "log_mag": log_mag, "stft": true}


class Windows(keras.utils.PyDataset):
    """Random windows of ``frames`` frames from analysed clips; batch i of epoch e
    depends on (seed, e, i) only.

    Returns ``((spec, phase, log_mag) [batch, frames, bins] each,
    {"wav": [batch, frames * hop], "phase": [batch, frames, bins, 2]})``.
    """

    def __init__(self, clips, frames, batch_size, steps, hop, seed):
        super().__init__()
        short = [c["name"] for c in clips if len(c["spec"]) <= frames]
        if short:
            raise InputError(f"{short[0]}: shorter than one training window of {frames} frames")
        self.clips, self.frames, self.batch_size = clips, int(frames), int(batch_size)
        self.steps, self.hop, self.seed, self.epoch = int(steps), int(hop), int(seed), 0

    def __len__(self):
        return self.steps

    def __getitem__(self, i):
        rng = np.random.default_rng([self.seed, self.epoch, i])
        keys = ("spec", "phase", "log_mag", "stft")
        cut = {k: [] for k in keys + ("wav",)}
        for _ in range(self.batch_size):
            clip = self.clips[rng.integers(len(self.clips))]
            t0 = int(rng.integers(0, len(clip["spec"]) - self.frames))
            for k in keys:
                cut[k].append(clip[k][t0:t0 + self.frames])
            cut["wav"].append(clip["wav"][t0 * self.hop:(t0 + self.frames) * self.hop])
        b = {k: np.stack(v) for k, v in cut.items()}
        return (b["spec"], b["phase"], b["log_mag"]), {"wav": b["wav"], "phase": b["stft"]}


def validation_sc(model, clips, config):
    """Mean spectral convergence of the whole validation clips (bench_inversion's measure)."""
    vocoder = RefinerVocoder(model, config, compile=False)
    scores = []
    for clip in clips:
        y = vocoder(clip["spec"])
        re_spec = compute_spec(y, config)
        n = min(len(re_spec), len(clip["spec"]))
        scores.append(spectral_convergence(spec_to_magnitude(clip["spec"][:n], config),
                                           spec_to_magnitude(re_spec[:n], config)))
    return float(np.mean(scores))


class ValidationScore(keras.callbacks.Callback):
    """``val_sc`` of the validation clips into the epoch's logs."""

    def __init__(self, clips, config):
        super().__init__()
        self.clips, self.config = clips, config

    def on_epoch_end(self, epoch, logs=None):
        t0 = time.perf_counter()
        logs["val_sc"] = validation_sc(self.model, self.clips, self.config)
        print(f"epoch {epoch + 1}: val_sc {logs['val_sc']:.4f} "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)


class Checkpoints(keras.callbacks.Callback):
    """model.keras at the lowest ``val_sc``, last.keras (the resume point) every epoch;
    after the CSV log, so that a checkpoint's epoch is always in log.csv."""

    def __init__(self, config, model_dir, best, start_sc=None):
        super().__init__()
        self.config, self.model_dir, self.best = config, Path(model_dir), best
        self.start_sc = start_sc

    def on_epoch_end(self, epoch, logs=None):
        sc = logs["val_sc"]
        state = {"epoch": epoch + 1, "best_val_sc": min(sc, self.best)}
        if sc < self.best:
            self.best = sc
            save_config(self.model_dir / "model.json", self.config)
            save_checkpoint(self.model, self.model_dir / "model.keras", state)
        plot_learning_curve(self.model_dir / "log.csv", self.model_dir / "learning_curve.png",
                            self.config["steps_per_epoch"], self.start_sc)
        save_config(self.model_dir / "last.json", self.config)
        save_checkpoint(self.model, self.model_dir / "last.keras", state,
                        state_path=self.model_dir / "state.json")


def plot_learning_curve(log_csv, png, steps_per_epoch, start_sc=None):
    """Training windows' and whole validation clips' spectral convergence against steps,
    with the untrained network's (PGHI's) validation score ``start_sc`` as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(open(log_csv)))
    if not rows:
        return
    steps = [(int(r["epoch"]) + 1) * steps_per_epoch for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    # the training metric is on the unclipped magnitude of 64-frame windows (edges
    # included), the validation score on whole clips in the clipped normalised range
    for key, label in (("wav_sc", "training windows (unclipped)"),
                       ("val_sc", "validation clips (as the bench)")):
        if key in rows[0]:
            ax.plot(steps, [float(r[key]) for r in rows], marker=".", label=label)
    if start_sc is not None:
        ax.axhline(start_sc, color="0.4", ls="--", label="PGHI start (validation)")
    ax.set_xlabel("step")
    ax.set_ylabel("spectral convergence")
    ax.set_title("PGHI-refining CNN vocoder")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_output(png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def compile_model(model, config, total_steps):
    """Adam with cosine decay over ``total_steps``; the losses of the module doc, and the
    training windows' spectral convergence as the metric ``wav_sc``."""
    stft_kw = dict(win_length=config["win_length"], hop_length=config["hop_length"],
                   n_fft=config["n_fft"], pad=config["win_length"])
    sc = keras.metrics.MeanMetricWrapper(loss_term, name="sc", term="spectral_convergence",
                                         **stft_kw)
    schedule = keras.optimizers.schedules.CosineDecay(
        config["learning_rate"], max(1, total_steps), alpha=config["final_lr_fraction"])
    model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=config["clipnorm"]),
                  loss={"wav": SpectralLoss(sc_weight=1.0, **stft_kw),
                        "phase": phase_derivative_loss},
                  loss_weights={"wav": 1.0, "phase": config["phase_weight"]},
                  metrics={"wav": [sc]})
    return model


CONFIG_KEYS = ("sr", "n_fft", "win_length", "hop_length", "ref_level_db", "min_level_db",
               *REFINER_DEFAULTS, "segment_frames", "batch_size", "learning_rate",
               "final_lr_fraction", "clipnorm", "phase_weight", "epochs", "steps_per_epoch")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnnvocoder.train_refiner",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--train_dir", default=None, help="training recordings (default: the "
                   "LJSpeech split's train clips)")
    p.add_argument("--val_dir", default=None, help="validation recordings (default: the "
                   "split's val clips)")
    p.add_argument("--model_dir", default="models/cnnvocoder_refiner")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from MODEL_DIR/last.keras when it exists")
    p.add_argument("--seed", type=int, default=0)
    for key in CONFIG_KEYS:  # defaults: the preset's
        p.add_argument(f"--{key}", type=int if key in ("sr", "n_fft", "win_length", "hop_length",
                                                        "refiner_channels", "refiner_blocks",
                                                        "segment_frames", "batch_size",
                                                        "epochs", "steps_per_epoch") else float)
    return parse_with_preset(p, PRESET_DIR, argv, default="cpu")


@cli_main
def main(argv=None):
    args = parse_args(argv)
    config = {k: getattr(args, k) for k in CONFIG_KEYS}
    train_files, val_files = wav_files(args.train_dir, "train"), wav_files(args.val_dir, "val")
    model_dir = Path(args.model_dir)
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{model_dir}: cannot create the model folder ({exc.strerror})") from None
    check_output(model_dir / "log.csv")  # writable, before minutes of analysis
    last = model_dir / "last.keras"
    keras.utils.set_random_seed(args.seed)
    print("analysing the recordings (PGHI start, true STFT) ...", flush=True)
    train = [analyse(f, config) for f in tqdm(train_files, desc="train")]
    val = [analyse(f, config) for f in tqdm(val_files, desc="val")]
    total = config["epochs"] * config["steps_per_epoch"]
    initial_epoch, best = 0, np.inf
    if args.resume and last.is_file():
        model = load_keras_model(last, "checkpoint", compile=True)
        state = checkpoint_state(last) or json.loads((model_dir / "state.json").read_text())
        initial_epoch, best = int(state["epoch"]), float(state.get("best_val_sc", np.inf))
        print(f"resuming from {last} at epoch {initial_epoch}", flush=True)
    else:
        model = compile_model(build_refiner(config), config, total)
    save_config(model_dir / "config.json", {**vars(args), **config})
    if initial_epoch >= config["epochs"]:
        print(f"already trained for {initial_epoch} epochs; nothing to do")
        return
    data = Windows(train, config["segment_frames"], config["batch_size"],
                   config["steps_per_epoch"], config["hop_length"], args.seed)
    start_sc = validation_sc(build_refiner(config), val, config)  # untrained = PGHI
    print(f"epoch 0: val_sc {start_sc:.4f} (the PGHI start)")
    model.fit(data, epochs=config["epochs"], initial_epoch=initial_epoch, verbose=2,
              callbacks=[EpochSync(data), ValidationScore(val, config),
                         resumed_csv_logger(model_dir / "log.csv", initial_epoch),
                         Checkpoints(config, model_dir, best, start_sc)])
    print(f"done: {model_dir / 'model.keras'} (lowest val_sc), {last} (last)")


if __name__ == "__main__":
    main()
