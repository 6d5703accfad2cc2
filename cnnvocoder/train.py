"""Train the CNN vocoder on segments written by cnnvocoder.preprocess.

Settings come from ``--preset NAME`` (``cnnvocoder/presets/NAME.json``,
default ``repo``: the repository configuration, 6 epochs x 20 steps of 4
segments) or ``--preset FILE.json``; every configuration key is also a flag
(``--n_heads 2``, ``--upsample_channels ...``) and flags given win.  The
analysis settings must match the segments' (preprocess with the same preset).

Adam (1e-3, weight decay 1e-5, global gradient-norm clip 5) on the spectral
loss of ``cnnvocoder.losses``; every loss term is a metric, so the CSV log and
TensorBoard (``--log_dir``) get one scalar per term for training and
validation.  After every epoch ``<model_dir>/last.keras`` (model + optimiser)
and ``<model_dir>/last.json`` (the resolved configuration) are written
atomically together with ``state.json`` (epoch); the best validation model is
``<model_dir>/model.keras`` (+ ``model.json``).  Every ``--sample_every``
epochs a validation segment is synthesised to ``<model_dir>/samples/``.

Resume (default ``--resume``): continue from ``<model_dir>/last.keras`` when it
exists (its stored configuration is kept), or ``--checkpoint X.keras`` from
another checkpoint (optimiser state and epoch counter included);
``--no-resume`` starts over. A resumed run ends with the weights of an
uninterrupted one (tests/cnnvocoder/test_cnnvocoder_resume.py): the checkpoints
hold their own epoch and best loss (``dsp.resume``), the batches of epoch e depend
on (seed, e, index) only, and the interrupted epoch restarts from its beginning.
``--warm_start X.keras`` only copies the weights (fresh optimiser, epoch 0), e.g.
to fine-tune on a new corpus.

    python -m cnnvocoder.train --data_dir data/cnnvocoder/segments \
        --model_dir models/cnnvocoder --epochs 10 --steps_per_epoch 20
"""
import argparse
import json
import sys
from importlib.util import find_spec
from pathlib import Path

import keras
import numpy as np

from cnnvocoder.config import (ANALYSIS_KEYS, DEFAULT_CONFIG, DEFAULT_PRESET, PRESET_DIR,
                               TRAINING_DEFAULTS, add_config_flags, config_path_for,
                               load_config, make_config)
from cnnvocoder.features import check_npz_file
from cnnvocoder.inference import load_vocoder
from cnnvocoder.losses import make_loss, term_metrics
from cnnvocoder.model import build_model
from dsp.audio import InputError, cli_main, write_wav
from dsp.backend import load_keras_model
from dsp.distribute import add_distribute_args, distributed_training
from dsp.presets import parse_args as parse_with_preset
from dsp.presets import save_config
from dsp.replicas import note_kept_precision, synchronize_batch_norm
from dsp.resume import EpochSync, checkpoint_state, restore_seed_states, resumed_csv_logger, save_checkpoint

OUTPUT_FLAGS = ("model_dir", "log_dir")  # what training writes (a non-chief worker: a private copy)


def read_list(data_dir, name):
    path = Path(data_dir) / name
    if not path.is_file():
        raise InputError(f"{path}: missing file list (run python -m cnnvocoder.preprocess first)")
    files = [Path(data_dir) / "segments" / line.strip()
             for line in path.read_text().splitlines() if line.strip()]
    if not files:
        raise InputError(f"{path}: empty file list")
    for f in files:  # a missing or cut segment stops the run now, not in the middle of an epoch
        check_npz_file(f)
    return files


def load_segment(path, key):
    check_npz_file(path)
    try:
        with np.load(path) as d:
            return d[key].astype(np.float32), d["wav"].astype(np.float32)
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: unreadable segment ({exc})") from None


class Segments(keras.utils.PyDataset):
    """Batches of (spectrogram [B, 81, bins], wav [B, 20736]) from segment files.

    Batch i of epoch e is a pure function of (seed, e, i); `epoch` is set by
    `dsp.resume.EpochSync` at the start of every epoch of ``fit`` (a resumed run's
    first one included), never counted from ``on_epoch_end`` calls.

    Args:
        files: list of segment .npz paths.
        config: configuration ("input" picks the 'spec' or 'mel' array).
        batch_size: int.
        shuffle: bool; the files in a new order every epoch, permutation of rng([seed, epoch]).
        seed: int.
        steps: int or None; batches per epoch (files repeat when there are fewer, a
            different part of them every epoch when there are more); None: one pass.
    """

    def __init__(self, files, config, batch_size, shuffle, seed, steps=None):
        super().__init__()
        self.files, self.batch_size, self.shuffle, self.steps = files, batch_size, shuffle, steps
        self.key = "mel" if config["input"] == "mel" else "spec"
        self.seed = seed
        self.epoch = 0

    @property
    def epoch(self):
        return self._epoch

    @epoch.setter
    def epoch(self, value):
        self._epoch = int(value)
        n = len(self.files)
        self.order = (np.random.default_rng([self.seed, self._epoch]).permutation(n) if self.shuffle
                      else np.arange(n))

    def __len__(self):
        return max(1, len(self.files) // self.batch_size) if self.steps is None else self.steps

    def __getitem__(self, i):
        n = len(self.files)
        idx = [self.order[(i * self.batch_size + j) % n] for j in range(self.batch_size)]
        pairs = [load_segment(self.files[k], self.key) for k in idx]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


class Checkpoints(keras.callbacks.Callback):
    """model.keras + model.json on a new best validation loss, then last.keras + last.json
    and state.json (epoch, best loss) every epoch; both checkpoints hold their epoch and
    best loss inside (dsp.resume); `resolved` is the configuration saved beside each."""

    def __init__(self, model_dir, resolved, best):
        super().__init__()
        self.model_dir, self.resolved, self.best = Path(model_dir), resolved, best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        val = float(logs.get("val_loss", logs.get("loss", np.inf)))
        if val < self.best:
            self.best = val
            save_config(self.model_dir / "model.json", self.resolved)
            save_checkpoint(self.model, self.model_dir / "model.keras",
                            {"epoch": epoch + 1, "best_val_loss": self.best})
        save_config(self.model_dir / "last.json", self.resolved)
        save_checkpoint(self.model, self.model_dir / "last.keras",  # last: the resume point
                        {"epoch": epoch + 1, "best_val_loss": self.best},
                        state_path=self.model_dir / "state.json")


class Samples(keras.callbacks.Callback):
    """Every `every` epochs (never when `every` is 0), synthesise validation segments (BatchNorm in inference mode)."""

    def __init__(self, out_dir, spec, every, sr):
        super().__init__()
        self.out_dir, self.spec, self.every, self.sr = Path(out_dir), spec, every, sr

    def on_epoch_end(self, epoch, logs=None):
        if self.every <= 0 or (epoch + 1) % self.every:
            return
        y = np.asarray(self.model(self.spec, training=False))
        for k, wav in enumerate(y):
            write_wav(self.out_dir / f"epoch{epoch + 1:04d}_{k}.wav", wav, self.sr)


def make_callbacks(args, resolved, val_spec, val_wav, best=np.inf, initial_epoch=0):
    """The log first, the checkpoints after it: a checkpoint's epoch is always in log.csv."""
    model_dir = Path(args.model_dir)
    samples = model_dir / "samples"
    samples.mkdir(parents=True, exist_ok=True)
    for k, wav in enumerate(val_wav):
        write_wav(samples / f"target_{k}.wav", wav, resolved["sr"])
    callbacks = [
        resumed_csv_logger(model_dir / "log.csv", initial_epoch),  # trimmed to the checkpoint
        keras.callbacks.TerminateOnNaN(),
        Checkpoints(model_dir, resolved, best),
        Samples(samples, val_spec, args.sample_every, resolved["sr"]),
    ]
    if find_spec("tensorboard") is not None:  # keras' TensorBoard callback needs the package
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(args.log_dir),
                                                     update_freq="epoch", write_graph=False))
    else:
        print("note: tensorboard is not installed; loss terms are logged to "
              f"{model_dir / 'log.csv'} only (pip install tensorboard)", file=sys.stderr)
    return callbacks


def build_and_compile(config, warm_start=None):
    """A fresh compiled model of `config`, optionally with the weights of `warm_start`."""
    model = build_model(config)
    if warm_start:
        source, _ = load_vocoder(warm_start)
        try:
            model.set_weights(source.get_weights())
        except ValueError as exc:
            raise InputError(f"{warm_start}: weights do not fit this configuration ({exc})") \
                from None
    optimizer = keras.optimizers.Adam(learning_rate=config["learning_rate"],
                                      weight_decay=config["weight_decay"],
                                      global_clipnorm=config["clipnorm"])
    model.compile(optimizer=optimizer, loss=make_loss(config), metrics=term_metrics(config))
    return model


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnnvocoder.train",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data_dir", required=True, help="output folder of cnnvocoder.preprocess")
    p.add_argument("--model_dir", default="models/cnnvocoder", help="checkpoints and samples")
    p.add_argument("--log_dir", default=None, help="TensorBoard logs (default MODEL_DIR/logs)")
    p.add_argument("--checkpoint", default=None,
                   help="resume from this .keras checkpoint (optimiser + epoch)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from MODEL_DIR/last.keras when it exists; --no-resume "
                        "starts over")
    p.add_argument("--warm_start", default=None, help="initialise weights from this .keras")
    p.add_argument("--epochs", type=int, default=TRAINING_DEFAULTS["epochs"])
    p.add_argument("--steps_per_epoch", type=int, default=TRAINING_DEFAULTS["steps_per_epoch"])
    p.add_argument("--validation_steps", type=int, default=2)
    p.add_argument("--sample_every", type=int, default=TRAINING_DEFAULTS["sample_every"],
                   help="epochs between sample wavs (0: none)")
    p.add_argument("--seed", type=int, default=0)
    add_distribute_args(p)
    add_config_flags(p)
    return parse_with_preset(p, PRESET_DIR, argv, default=DEFAULT_PRESET)


def resolve_config(args, resume_from=None):
    """The configuration of this run: the flags', or when resuming from the
    checkpoint `resume_from` the one saved beside it (its architecture is fixed;
    `batch_size` still follows the flags).

    Raises InputError when the analysis settings differ from the segments'.
    """
    data_cfg_path = Path(args.data_dir) / "config.json"
    data_config = load_config(data_cfg_path) if data_cfg_path.is_file() else make_config()
    config = make_config(**{k: getattr(args, k) for k in DEFAULT_CONFIG})
    cfg_path = config_path_for(resume_from) if resume_from else None
    if cfg_path:
        stored = load_config(cfg_path)
        changed = sorted(k for k in stored if k != "batch_size" and stored[k] != config[k])
        if changed:
            print(f"note: resuming {resume_from} with its own configuration "
                  f"(ignoring this command's {', '.join(changed)})", file=sys.stderr)
        config = {**stored, "batch_size": config["batch_size"]}
    for key in ANALYSIS_KEYS:
        if config[key] != data_config[key]:
            raise InputError(f"{args.data_dir}: data made with {key}={data_config[key]} but the "
                             f"model configuration has {config[key]} (preprocess and train "
                             f"with the same --preset)")
    return config


def load_or_build(args, config):
    """(compiled model, initial epoch, best validation loss): the checkpoint to resume, or a new model.

    The epoch and best loss are those stored inside the checkpoint (`dsp.resume`); for
    checkpoints written before they were, those of ``state.json`` beside it.
    """
    if not args.resume_from:
        return build_and_compile(config, args.warm_start), 0, np.inf
    if not Path(args.resume_from).is_file():
        raise InputError(f"{args.resume_from}: no such checkpoint")
    model = load_keras_model(args.resume_from, "checkpoint", compile=True)
    note_kept_precision(model, args.resume_from)
    state = checkpoint_state(args.resume_from)
    state_path = Path(args.resume_from).parent / "state.json"
    if state is None and state_path.is_file():
        state = json.loads(state_path.read_text())
    state = state or {}
    restore_seed_states(model, state)
    initial_epoch = int(state.get("epoch", 0))
    print(f"resuming from {args.resume_from} at epoch {initial_epoch}")
    return model, initial_epoch, float(state.get("best_val_loss", np.inf))


@cli_main
def main(argv=None):
    args = parse_args(argv)
    # the whole run in the scope of --distribute; --batch_size is the global batch
    with distributed_training(args, OUTPUT_FLAGS) as dist:
        print(dist.describe(args.batch_size), flush=True)
        _train(args)


def _train(args):
    """Train (or resume) with the resolved flags ``args`` of `parse_args` (see the module doc)."""
    model_dir = Path(args.model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    args.log_dir = args.log_dir or str(model_dir / "logs")
    last = model_dir / "last.keras"
    resume_from = args.checkpoint or (str(last) if args.resume and last.is_file() else None)
    config = resolve_config(args, resume_from)
    resolved = {**vars(args), **config}  # every flag's final value, saved beside checkpoints
    args.resume_from = resume_from

    keras.utils.set_random_seed(args.seed)
    train_files = read_list(args.data_dir, "train.txt")
    val_files = read_list(args.data_dir, "val.txt")
    model, initial_epoch, best = load_or_build(args, config)
    synchronize_batch_norm(model)   # global-batch statistics under a strategy (dsp.replicas)
    save_config(model_dir / "config.json", resolved)

    bs = int(config["batch_size"])
    train = Segments(train_files, config, bs, True, args.seed, steps=args.steps_per_epoch)
    n_val = max(1, len(val_files) // bs)
    val = Segments(val_files, config, bs, False, args.seed,  # the same batches every epoch
                   steps=min(args.validation_steps, n_val))
    val_spec, val_wav = val[0]
    if initial_epoch >= args.epochs:
        print(f"already trained for {initial_epoch} >= {args.epochs} epochs; nothing to do")
        return
    # the datasets' lengths are the epoch and the validation pass; they order their own batches
    model.fit(train, epochs=args.epochs, initial_epoch=initial_epoch, validation_data=val,
              callbacks=[EpochSync(train),  # first: the epoch is set before any batch of it is cut
                         *make_callbacks(args, resolved, val_spec[:2], val_wav[:2], best, initial_epoch)],
              verbose=2, shuffle=False)
    print(f"done: {model_dir / 'model.keras'} (best), {model_dir / 'last.keras'} (last)")


if __name__ == "__main__":
    main()
