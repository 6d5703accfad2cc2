"""AudioRNN training: windows of the code cache, checkpoints, resume (any Keras backend).

`train(args)` is what `python -m audiornn.AudioRNN -t` runs: it reads (and
caches) the codes of every wav under args.data_dir, cuts windows on the fly,
holds out the last args.val_fraction of every file for validation, and keeps
beside args.model the files listed in checkpoint.py.  Running it again resumes
after the last finished epoch (args.resume), exactly where an uninterrupted run would
be: the latest checkpoint holds the optimizer and its own resume state
(dsp.resume.save_checkpoint), batch (epoch, step) is a pure function of the seed
(windows.TrainWindows, fit with shuffle=False) and the interrupted epoch restarts.

With ``--distribute`` (`dsp.distribute`) the whole run (data, model, restore, fit) happens
in the strategy's scope, ``-b`` is the global batch, and a non-chief worker writes only
into a private copy of the files beside ``-m`` (`private_companions`).
"""
import json
import shutil
import sys
from pathlib import Path

import keras
import numpy as np

from audiornn.AudioRNNData import load_or_prepare
from audiornn.checkpoint import model_paths
from audiornn.model import build_model, compile_model, model_dims
from audiornn.windows import EvalWindows, TrainWindows, split_train_val
from dsp.audio import InputError, atomic_output
from dsp.distribute import distributed_training
from dsp.presets import save_config
from dsp.replicas import note_kept_precision, synchronize_batch_norm
from dsp.resume import EpochSync, checkpoint_state, resumed_csv_logger, save_checkpoint

NOT_SAVED = ("train", "generate")  # actions, not settings: left out of the saved configuration
OUTPUT_FLAGS = ("model", "cache")  # what training writes: -m (and the files beside it), --cache
COMPANIONS = ("latest", "state", "log", "config", "cache")  # beside -m, read back when resuming


def load_data(args, paths):
    """Code cache and train/val window indices for the settings in `args`."""
    if not args.data_dir:
        raise InputError("no data folder: pass -d/--data_dir")
    cache = load_or_prepare(args.data_dir, args.cache or paths["cache"], sr=args.samplerate,
                            mu=args.mu, coef=args.preemphasis)
    train_idx, val_idx = split_train_val(cache.starts, cache.lengths, args.timesteps,
                                         args.val_fraction)
    if len(train_idx) == 0:
        raise InputError(f"{args.data_dir}: timesteps {args.timesteps} is longer than the training "
                         f"part of every file (longest file: {int(cache.lengths.max())} samples)")
    if len(val_idx) == 0:
        raise InputError(f"{args.data_dir}: no validation windows: every file's last "
                         f"{args.val_fraction:.0%} is shorter than timesteps + 1 = "
                         f"{args.timesteps + 1} samples (raise --val_fraction or lower -ts)")
    return cache, train_idx, val_idx


class AtomicCheckpoint(keras.callbacks.Callback):
    """Latest and best-on-validation .keras checkpoints plus resume state, atomically.

    Args:
        paths: dict from checkpoint.model_paths.
        best_so_far: float or None, best validation loss of the epochs already done.
    """

    def __init__(self, paths, best_so_far=None):
        super().__init__()
        self.paths = paths
        self.best = best_so_far

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        val = logs.get("val_loss")
        if val is not None and np.isfinite(val) and (self.best is None or val < self.best):
            self.best = float(val)
            with atomic_output(self.paths["best"]) as tmp:
                self.model.save(tmp)
        # the state inside the latest checkpoint always matches its weights (dsp.resume)
        save_checkpoint(self.model, self.paths["latest"],
                        {"epochs_done": epoch + 1, "best_val_loss": self.best},
                        state_path=self.paths["state"])


def resume_or_build(args, paths):
    """(model, state, resumed): the latest checkpoint when resuming, else a new compiled model."""
    state = checkpoint_state(paths["latest"]) if args.resume else None
    if args.resume and state is None and paths["latest"].exists() and paths["state"].exists():
        state = json.loads(paths["state"].read_text())  # a checkpoint without its state inside
    if state is not None:
        model = keras.models.load_model(paths["latest"])
        note_kept_precision(model, paths["latest"])
        if model_dims(model) != (args.timesteps, args.neurons):
            raise InputError(f"{paths['latest']}: checkpoint has (timesteps, neurons) = "
                             f"{model_dims(model)}, not ({args.timesteps}, {args.neurons}); "
                             "pass --no-resume to start over, or another -m")
        saved_k = model.optimizer.gradient_accumulation_steps or 1
        if saved_k != args.accumulate:
            raise InputError(f"{paths['latest']}: checkpoint was trained with --accumulate "
                             f"{saved_k}, not {args.accumulate}; pass the same value or --no-resume")
        print(f"resuming from {paths['latest']} after epoch {state['epochs_done']}")
        return model, state, True
    model = compile_model(build_model(args.timesteps, args.neurons), args.learning_rate,
                          args.accumulate)
    for key in ("log", "state", "latest"):
        paths[key].unlink(missing_ok=True)
    return model, {"epochs_done": 0, "best_val_loss": None}, False


def private_companions(chief_model, model):
    """Copy the files beside the chief's ``chief_model`` that resuming reads to beside ``model``.

    `dsp.distribute` gives a non-chief worker a private copy of the ``-m`` file only; the
    latest checkpoint, its state, the log and the code cache sit beside it under other
    names, and every worker must resume from the chief's. Nothing happens for the chief
    (``model`` is ``chief_model``).
    """
    if Path(model) == Path(chief_model):
        return
    source, target = model_paths(chief_model), model_paths(model)
    for key in COMPANIONS:
        if source[key].is_file() and not target[key].exists():
            shutil.copy2(source[key], target[key])


def train(args):
    """Train (or resume) as set by `args` (AudioRNN.parse_arguments); returns the model.

    With ``args.distribute`` the whole run happens in the strategy's scope; only the chief
    writes beside ``args.model`` (`dsp.distribute.distributed_training`).
    """
    chief_model = args.model
    with distributed_training(args, OUTPUT_FLAGS, batch_flag=None) as dist:
        micro = args.batchsize // args.accumulate   # what each fit step splits over the replicas
        dist.check_batch(micro, "-b" if args.accumulate == 1 else "the micro-batch -b / --accumulate")
        print(dist.describe(args.batchsize), flush=True)
        private_companions(chief_model, args.model)
        return _train(args)


def _train(args):
    paths = model_paths(args.model)
    paths["best"].parent.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    cache, train_idx, val_idx = load_data(args, paths)
    print(f"data: {len(cache.lengths)} files, {cache.seconds / 60:.1f} min; "
          f"{len(train_idx)} training windows, {len(val_idx)} validation windows "
          f"(T={args.timesteps})")
    # With --accumulate K, each update sees K micro-batches of B / K windows.
    k = args.accumulate
    train_seq = TrainWindows(cache.codes, train_idx, args.batchsize // k,
                             args.steps_per_epoch * k if args.steps_per_epoch else None,
                             seed=args.seed)
    val_seq = EvalWindows(cache.codes, val_idx, args.batchsize, max_windows=args.val_windows)
    model, state, resumed = resume_or_build(args, paths)
    synchronize_batch_norm(model)   # global-batch statistics under a strategy (dsp.replicas)
    config = {key: value for key, value in vars(args).items() if key not in NOT_SAVED}
    config["cache"] = str(args.cache or paths["cache"])
    save_config(paths["config"], config)
    if state["epochs_done"] >= args.epochs:
        print(f"already trained for {state['epochs_done']} epochs (>= -e {args.epochs})")
        return model
    callbacks = [EpochSync(train_seq),
                 resumed_csv_logger(paths["log"], state["epochs_done"]),  # trimmed to the checkpoint
                 AtomicCheckpoint(paths, state["best_val_loss"]),
                 keras.callbacks.TerminateOnNaN()]
    model.fit(train_seq, validation_data=val_seq, epochs=args.epochs,
              initial_epoch=state["epochs_done"], callbacks=callbacks,
              verbose=1 if sys.stdout.isatty() else 2, shuffle=False)
    print(f"best checkpoint: {paths['best']}; latest: {paths['latest']}; log: {paths['log']}; "
          f"configuration: {paths['config']}")
    return model
