"""What the encoder and B2 trainers share: their common flags, the atomic best
checkpoint with the resolved configuration beside it, exponential learning-rate
decay per epoch, the wall-clock budget and resuming.

Resuming an interrupted run gives the weights of an uninterrupted one
(tests/separation/test_separation_resume.py): after every epoch `EpochBackup` writes
`logs/<name>/backup/latest.weights.h5` atomically, holding the weights, the optimizer
(with its weight average) and, inside, the epoch and the dropout streams
(`dsp.resume`); `fit_checkpointed` restores it before fit, starts at that epoch and
tells the dataset (`dsp.resume.EpochSync`: batches depend on (seed, epoch, index) only,
fit with shuffle=False); `ExactSwapEMAWeights` exchanges raw and averaged weights exactly.

`run_distributed` runs a trainer in the scope of ``--distribute`` (`dsp.distribute`):
``--batch_size`` is the global batch, only the chief writes to ``--model_dir``.
"""
import argparse
import contextlib
import json
import shutil
import time
import warnings
from pathlib import Path

import keras

from dsp.audio import InputError, atomic_output, notice
from dsp.distribute import add_distribute_args, distributed_training
from dsp.presets import load_config, save_config, to_jsonable
from dsp.replicas import any_worker, even_validation, synchronize_batch_norm
from dsp.resume import EpochSync, checkpoint_state, restore_seed_states, save_checkpoint, trim_csv_log

BACKUP = "latest.weights.h5"  # in logs/<name>/backup/ (the name keras' BackupAndRestore used)
OUTPUT_FLAGS = ("model_dir",)  # everything a trainer writes is under --model_dir


def add_training_flags(parser, name):
    """The flags every separation trainer has (their defaults come from the presets).

    Args:
        parser: argparse.ArgumentParser.
        name: str, the checkpoint's name in --model_dir (for the help text).
    """
    parser.add_argument("--data_dir", default="data/separation", help="mixtures of stage 1")
    parser.add_argument("--model_dir", default="models/separation",
                        help=f"writes {name}.keras + {name}.json (the resolved configuration, epoch and "
                             f"score) and logs/{name}/")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--steps_per_epoch", type=int, default=10,
                        help="batches per epoch (validation, checkpoint and the x0.98 decay happen per epoch)")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (x0.98 per epoch)")
    parser.add_argument("--max_minutes", type=float, default=None,
                        help="wall-clock budget, checked after every batch (default: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                        help="continue an interrupted run (or a finished one from its best checkpoint); "
                             "--no-resume starts over")
    parser.add_argument("--keep_optimizer", action="store_true",
                        help="a finished run given more epochs keeps its optimizer state (Adam's moments and, "
                             "with a weight average, the raw weights behind it) instead of starting Adam afresh "
                             "from the best weights; the learning-rate schedule starts again from --lr either way")
    add_distribute_args(parser)


def run_distributed(args, body, *body_args, **body_kwargs):
    """``body(args, ...)`` in the scope of ``args.distribute``, a non-chief worker's ``--model_dir``
    redirected to a private copy (`dsp.distribute.distributed_training`); returns its result."""
    with distributed_training(args, OUTPUT_FLAGS) as dist:
        print(dist.describe(args.batch_size), flush=True)
        return body(args, *body_args, **body_kwargs)


def metadata_path(ckpt_path):
    """`encoder_b1.keras` -> `encoder_b1.json`: the configuration and score beside a checkpoint."""
    return Path(ckpt_path).with_suffix(".json")


class BestCheckpoint(keras.callbacks.Callback):
    """Keep the best model (lowest `monitor`) at `path`, written atomically, with
    `extra` (the resolved configuration) + epoch and score beside it as JSON
    (`dsp.presets.save_config`, also atomic)."""

    def __init__(self, path, monitor="val_loss", extra=None):
        super().__init__()
        self.path, self.monitor, self.extra = Path(path), monitor, dict(extra or {})
        self.best = float("inf")
        meta = metadata_path(self.path)
        if meta.is_file():  # resuming: only beat the score already on disk, if it is the same loss's
            saved = load_config(meta)
            # a checkpoint written before a trainer had --loss was trained with L1 ("mae")
            if saved.get("loss", "mae" if "loss" in self.extra else None) == self.extra.get("loss"):
                self.best = float(saved.get("best", self.best))

    def on_epoch_end(self, epoch, logs=None):
        score = (logs or {}).get(self.monitor)
        if score is None or not score < self.best:
            return
        self.best = float(score)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.path) as tmp:
            self.model.save(tmp)
        save_config(metadata_path(self.path),
                    dict(self.extra, epoch=epoch + 1, best=self.best, monitor=self.monitor))


class TimeBudget(keras.callbacks.Callback):
    """Stop training once `minutes` of wall time ran out, checked after every batch: the
    epoch is cut short, then validated and checkpointed as usual (on a loaded machine one
    epoch can take longer than the whole budget)."""

    def __init__(self, minutes):
        super().__init__()
        self.seconds = None if minutes is None else 60.0 * minutes
        self.t0 = None

    def on_train_begin(self, logs=None):
        self.t0 = time.time()

    def _out_of_time(self):
        # the same answer on every worker of a multi-worker run (one that stops alone would
        # leave the others waiting in the next step's all-reduce)
        return self.seconds is not None and any_worker(time.time() - self.t0 > self.seconds)

    def on_train_batch_end(self, batch, logs=None):
        if self._out_of_time():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self._out_of_time():
            print(f"time budget of {self.seconds / 60:.1f} min reached in epoch {epoch + 1}")
            self.model.stop_training = True


class EpochBackup(keras.callbacks.Callback):
    """After every epoch `folder/latest.weights.h5` (weights, optimizer, and inside it the
    epoch and the dropout streams), written atomically; the folder goes when fit ends.

    Last in the callbacks: once the backup of an epoch exists, so do its log row and best
    checkpoint. `swap` (an `ExactSwapEMAWeights`) has put the averaged weights in the model
    by then; the backup holds the raw ones.
    """

    def __init__(self, folder, swap=None):
        super().__init__()
        self.folder, self.swap = Path(folder), swap

    def on_epoch_end(self, epoch, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.swap.raw_weights() if self.swap else contextlib.nullcontext():
            save_checkpoint(self.model, self.folder / BACKUP, {"epoch": epoch + 1})

    def on_train_end(self, logs=None):
        shutil.rmtree(self.folder, ignore_errors=True)


def restore_backup(model, folder):
    """Load `folder/latest.weights.h5` into the compiled `model`; returns the epochs it holds (0: none).

    Backups of keras.callbacks.BackupAndRestore (the epoch in `training_metadata.json`) load too.
    """
    path = Path(folder) / BACKUP
    if not path.is_file():
        return 0
    state = checkpoint_state(path)
    if state is None:
        meta = Path(folder) / "training_metadata.json"
        state = json.loads(meta.read_text()) if meta.is_file() else {"epoch": 0}
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
    restore_seed_states(model, state)
    return int(state["epoch"])


class ExactSwapEMAWeights(keras.callbacks.SwapEMAWeights):
    """SwapEMAWeights that exchanges raw and averaged weights exactly. On TensorFlow Keras
    swaps them by a + b - b arithmetic, which rounds: every epoch's swap and swap back would
    move the raw weights by rounding, and a run resumed from a backup would drift from one
    that went on. `raw_weights` undoes the swap for `EpochBackup`."""

    def _tf_swap_variables(self, optimizer):
        self._backend_swap_variables(optimizer)

    @contextlib.contextmanager
    def raw_weights(self):
        """Inside the block the model holds the raw (not averaged) weights."""
        swapped = self._ema_weights_in_model
        if swapped:
            self._swap_variables()
        try:
            yield
        finally:
            if swapped:
                self._swap_variables()


def resume_weights(model, ckpt_path, log_dir, config, resume, defaults=None, keep_optimizer=False):
    """Check a checkpoint about to be continued, and load it when the run that wrote it finished.

    An interrupted run (its `log_dir/backup` still there) is restored from its backup by
    `fit_checkpointed`; a finished one continues from its best checkpoint.

    Args:
        config: dict, the network sizes of this run (`cfg.to_dict()`).
        defaults: dict, the value of every field of the config class when not given (`Cls().to_dict()`): a
            checkpoint written before a field existed was trained with its default.
        keep_optimizer: bool, also load the optimizer's state saved in the checkpoint (`keep_optimizer_state`).
    Raises:
        InputError: the checkpoint was trained with other network sizes.
    """
    ckpt_path, meta = Path(ckpt_path), metadata_path(ckpt_path)
    if not resume or not meta.is_file():
        return
    saved = load_config(meta).get("config")
    if saved is not None and {**{k: v for k, v in (defaults or {}).items() if k in config}, **saved} != config:
        raise InputError(f"{ckpt_path}: trained with other network sizes than preset/flags give now; "
                         f"give --no-resume to start over, or another --model_dir")
    if ckpt_path.is_file() and not (Path(log_dir) / "backup").is_dir():
        if keep_optimizer:
            keep_optimizer_state(model, ckpt_path)
        else:
            model.load_weights(ckpt_path)
        print(f"resuming from the weights of {ckpt_path}" + (" and its optimizer state" if keep_optimizer else ""))


def keep_optimizer_state(model, ckpt_path):
    """Load a best checkpoint with its optimizer state, so that training goes on where it was.

    A fresh Adam moves every weight by about the full learning rate in its first steps: continued so at
    lr 4e-5, the wide B2's validation loss rose from 0.0685 to 0.0696 in the first epoch; with the kept
    state it stayed at 0.0685 (2026-12-05). The checkpoint was written with the weight average in the
    model and the raw weights in the optimizer's average slots (`ExactSwapEMAWeights`); they are
    exchanged back, so training continues from the raw weights and the average goes on averaging. (A
    checkpoint of a run's last epoch holds the average in both: Keras' SwapEMAWeights finalises it
    there, so training continues from the average.)

    Raises:
        InputError: the checkpoint holds no optimizer state matching this optimizer (e.g. one
            written without a weight average, continued with one).
    """
    opt = model.optimizer
    if not opt.built:
        opt.build(model.trainable_variables)
    before = int(opt.iterations.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)   # Keras only warns when it skips the optimizer
        try:
            model.load_weights(ckpt_path)
        except (UserWarning, ValueError) as e:            # (raised as the warning, or wrapped in a ValueError)
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            reason = next((line for line in lines if line.startswith("Skipping")), lines[-1] if lines else "")
            raise InputError(f"{ckpt_path}: its optimizer state does not fit this run's optimizer "
                             f"(--keep_optimizer): {reason}") from None
    if int(opt.iterations.numpy()) == before:
        raise InputError(f"{ckpt_path}: holds no optimizer state to keep (--keep_optimizer)")
    if opt.use_ema:
        swap = ExactSwapEMAWeights()
        swap.set_model(model)
        swap._swap_variables()


def standard_callbacks(ckpt_path, log_dir, lr, decay=0.98, extra=None, max_minutes=None, resume=False,
                       swap_ema=False):
    """Callbacks for fit(): LR = lr * decay**epoch, best checkpoint, CSV log,
    EpochBackup (removed unless `resume`, so a fresh run starts fresh).
    `swap_ema` (optimizer built with `use_ema=True`): validate and checkpoint the
    averaged weights; the backup keeps the raw weights and the average apart (swapped
    back exactly for it), so a resumed run continues both."""
    log_dir = Path(log_dir)
    backup = log_dir / "backup"
    if not resume:
        shutil.rmtree(backup, ignore_errors=True)
        meta = metadata_path(ckpt_path)
        if meta.exists():
            meta.unlink()
    log_dir.mkdir(parents=True, exist_ok=True)
    swap = ExactSwapEMAWeights(swap_on_epoch=True) if swap_ema else None
    return [
        keras.callbacks.LearningRateScheduler(lambda epoch: lr * decay ** epoch),
        *([swap] if swap else []),
        BestCheckpoint(ckpt_path, extra=extra),
        keras.callbacks.CSVLogger(str(log_dir / "history.csv"), append=resume),
        TimeBudget(max_minutes),
        EpochBackup(backup, swap),  # last: the epoch's outputs above exist once it does
    ]


def fit_checkpointed(model, name, args, config, train_data, validation_data, swap_ema=False, verbose=2,
                     config_defaults=None):
    """Fit a compiled model as checkpoint `<args.model_dir>/<name>.keras` and return the History.

    Checks and loads what `--resume` continues (`resume_weights`, `restore_backup`: an
    interrupted run restarts its interrupted epoch, `train_data.epoch` set by `EpochSync`), then fits
    with `standard_callbacks`, saving every resolved flag of `args` and the network sizes
    `config` (a dict) beside the checkpoint; `config_defaults` (a dict) completes the sizes of a
    checkpoint written before some field existed (see `resume_weights`).
    """
    model_dir = Path(args.model_dir)
    ckpt, log_dir = model_dir / f"{name}.keras", model_dir / "logs" / name
    synchronize_batch_norm(model)   # global-batch statistics under a strategy (dsp.replicas)
    resume_weights(model, ckpt, log_dir, config, args.resume, config_defaults,
                   keep_optimizer=getattr(args, "keep_optimizer", False))
    callbacks = standard_callbacks(ckpt, log_dir, args.lr, extra={**to_jsonable(args), "config": config},
                                   max_minutes=args.max_minutes, resume=args.resume, swap_ema=swap_ema)
    initial_epoch = restore_backup(model, log_dir / "backup") if args.resume else 0
    if initial_epoch:
        print(f"resuming after epoch {initial_epoch} from {log_dir / 'backup' / BACKUP}")
        trim_csv_log(log_dir / "history.csv", initial_epoch)
    if hasattr(train_data, "epoch"):   # first: the epoch is set before any batch of it is cut
        callbacks.insert(0, EpochSync(train_data))
    validation_data, val_batch, dropped = even_validation(validation_data)  # one device: as given, 32
    if dropped:
        notice(f"validation: the last {dropped} example(s) left out, so that the replicas share every batch")
    return model.fit(train_data, validation_data=validation_data, epochs=args.epochs, callbacks=callbacks,
                     initial_epoch=initial_epoch, verbose=verbose, shuffle=False,
                     validation_batch_size=val_batch)
