"""Callbacks shared by the encoder and B2 trainers: atomic best checkpoint,
exponential learning-rate decay per epoch, wall-clock budget, resumable fit."""
import json
import os
import shutil
import time
from pathlib import Path

import keras


class BestCheckpoint(keras.callbacks.Callback):
    """Keep the best model (lowest `monitor`) at `path`, written atomically
    (temp file + rename), with `extra` JSON (config, epoch, score) beside it."""

    def __init__(self, path, monitor="val_loss", extra=None):
        super().__init__()
        self.path, self.monitor, self.extra = Path(path), monitor, dict(extra or {})
        self.best = float("inf")
        meta = self.path.with_suffix(".json")
        if meta.is_file():  # resuming: only beat the score already on disk
            self.best = float(json.loads(meta.read_text()).get("best", self.best))

    def on_epoch_end(self, epoch, logs=None):
        score = (logs or {}).get(self.monitor)
        if score is None or not score < self.best:
            return
        self.best = float(score)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.tmp.keras")
        self.model.save(tmp)
        os.replace(tmp, self.path)
        meta = dict(self.extra, epoch=epoch + 1, best=self.best, monitor=self.monitor)
        tmpj = self.path.with_name(f".{self.path.stem}.tmp.json")
        tmpj.write_text(json.dumps(meta, indent=2))
        os.replace(tmpj, self.path.with_suffix(".json"))


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
        return self.seconds is not None and time.time() - self.t0 > self.seconds

    def on_train_batch_end(self, batch, logs=None):
        if self._out_of_time():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self._out_of_time():
            print(f"time budget of {self.seconds / 60:.1f} min reached in epoch {epoch + 1}")
            self.model.stop_training = True


def standard_callbacks(ckpt_path, log_dir, lr, decay=0.98, extra=None, max_minutes=None, resume=False,
                       swap_ema=False):
    """Callbacks for fit(): LR = lr * decay**epoch, best checkpoint, CSV log,
    BackupAndRestore (removed unless `resume`, so a fresh run starts fresh).
    `swap_ema` (optimizer built with `use_ema=True`): validate and checkpoint the
    averaged weights; the backup, taken before the swap, keeps the raw weights
    and the average apart, so a resumed run continues both."""
    log_dir = Path(log_dir)
    backup = log_dir / "backup"
    if not resume:
        shutil.rmtree(backup, ignore_errors=True)
        meta = Path(ckpt_path).with_suffix(".json")
        if meta.exists():
            meta.unlink()
    log_dir.mkdir(parents=True, exist_ok=True)
    return [
        keras.callbacks.LearningRateScheduler(lambda epoch: lr * decay ** epoch),
        keras.callbacks.BackupAndRestore(str(backup)),
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if swap_ema else []),
        BestCheckpoint(ckpt_path, extra=extra),
        keras.callbacks.CSVLogger(str(log_dir / "history.csv"), append=resume),
        TimeBudget(max_minutes),
    ]
