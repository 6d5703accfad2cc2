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

from audiornn.AudioRNNData import join_caches, load_or_prepare
from audiornn.checkpoint import model_paths
from audiornn.model import (build_model, compile_model, model_dims, model_targets,
                            recalibrate_batch_norm)
from audiornn.windows import EvalWindows, TrainWindows, WindowIndex, split_train_val
from dsp.audio import InputError, atomic_output
from dsp.distribute import distributed_training
from dsp.presets import load_config, save_config
from dsp.replicas import note_kept_precision, synchronize_batch_norm
from dsp.resume import EpochSync, checkpoint_state, resumed_csv_logger, save_checkpoint

NOT_SAVED = ("train", "generate")  # actions, not settings: left out of the saved configuration
OUTPUT_FLAGS = ("model", "cache")  # what training writes: -m (and the files beside it), --cache
COMPANIONS = ("latest", "state", "log", "config", "cache", "val_cache")  # beside -m, read back when resuming


def load_data(args, paths, held_out_dir=None, held_out_cache=None):
    """Code cache and train/val window indices for the settings in `args`.

    Validation windows come from the files of `held_out_dir` (default
    args.val_dir) when there is one, else from the last args.val_fraction of
    every training file.  The held-out codes are cached in `held_out_cache`
    (default paths["val_cache"]) and joined after the training files.
    """
    if not args.data_dir:
        raise InputError("no data folder: pass -d/--data_dir")
    cache = load_or_prepare(args.data_dir, args.cache or paths["cache"], sr=args.samplerate,
                            mu=args.mu, coef=args.preemphasis)
    held_out_dir = held_out_dir or getattr(args, "val_dir", None)
    if held_out_dir:
        held = load_or_prepare(held_out_dir, held_out_cache or paths["val_cache"],
                               sr=args.samplerate, mu=args.mu, coef=args.preemphasis)
        n = len(cache.lengths)
        cache = join_caches(cache, held)
        train_idx = WindowIndex(cache.starts[:n], cache.starts[:n] + cache.lengths[:n], args.timesteps)
        val_idx = WindowIndex(cache.starts[n:], cache.starts[n:] + cache.lengths[n:], args.timesteps)
        if len(val_idx) == 0:
            raise InputError(f"{held_out_dir}: no held-out windows: every file is shorter than "
                             f"timesteps + 1 = {args.timesteps + 1} samples")
    else:
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


class RecalibrateBatchNorm(keras.callbacks.Callback):
    """After the last training step of each epoch, before validation: precise BN statistics.

    Args:
        train_seq: TrainWindows; `n_batches` of its windows (fixed per epoch and seed,
            so a resumed run recalibrates on the same ones) are used.
        n_batches: int.
    """

    def __init__(self, train_seq, n_batches):
        super().__init__()
        self.train_seq, self.n_batches = train_seq, int(n_batches)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if batch != len(self.train_seq) - 1:
            return
        seq = self.train_seq
        windows = TrainWindows(seq.codes, seq.index, seq.batch_size, self.n_batches,
                               seed=seq.seed + 7919 * (self.epoch + 1), warmup=seq.warmup)
        recalibrate_batch_norm(self.model, (windows[i][0] for i in range(self.n_batches)))


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
        if model_targets(model) != model_targets_of(args):
            raise InputError(f"{paths['latest']}: checkpoint has (targets, warmup) = "
                             f"{model_targets(model)}, not {model_targets_of(args)}; "
                             "pass the same values or --no-resume")
        saved_k = model.optimizer.gradient_accumulation_steps or 1
        if saved_k != args.accumulate:
            raise InputError(f"{paths['latest']}: checkpoint was trained with --accumulate "
                             f"{saved_k}, not {args.accumulate}; pass the same value or --no-resume")
        check_same_encoding(args, paths)
        print(f"resuming from {paths['latest']} after epoch {state['epochs_done']}")
        return model, state, True
    model = compile_model(build_model(args.timesteps, args.neurons, *model_targets_of(args)),
                          args.learning_rate, args.accumulate, args.lr_halve_every)
    for key in ("log", "state", "latest"):
        paths[key].unlink(missing_ok=True)
    return model, {"epochs_done": 0, "best_val_loss": None}, False


def check_same_encoding(args, paths):
    """InputError if args encode the audio otherwise than the checkpoint was trained on."""
    if not paths["config"].exists():
        return
    saved = load_config(paths["config"])
    for key, flag in (("samplerate", "-sr"), ("mu", "--mu"), ("preemphasis", "--preemphasis")):
        if key in saved and saved[key] != getattr(args, key):
            raise InputError(f"{paths['latest']}: checkpoint was trained with {flag} {saved[key]}, "
                             f"not {getattr(args, key)}; pass the same value or --no-resume")


def model_targets_of(args):
    """(targets, warmup) that args asks for, as model.model_targets reports them."""
    return (args.targets, int(args.warmup)) if args.targets == "all" else ("last", 0)


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
        return _train(args, dist.num_replicas)


def _train(args, num_replicas=1):
    paths = model_paths(args.model)
    paths["best"].parent.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    cache, train_idx, val_idx = load_data(args, paths)
    held_out = f"files of {args.val_dir}" if args.val_dir else "tails of the files"
    print(f"data: {len(cache.lengths)} files, {cache.seconds / 60:.1f} min, validation on the {held_out}; "
          f"{len(train_idx)} training windows, {len(val_idx)} validation windows "
          f"(T={args.timesteps})")
    # With --accumulate K, each update sees K micro-batches of B / K windows.
    k = args.accumulate
    targets, warmup = model_targets_of(args)
    warmup = warmup if targets == "all" else None
    train_seq = TrainWindows(cache.codes, train_idx, args.batchsize // k,
                             args.steps_per_epoch * k if args.steps_per_epoch else None,
                             seed=args.seed, warmup=warmup,
                             input_noise=getattr(args, "input_noise", 0))
    val_seq = EvalWindows(cache.codes, val_idx, args.batchsize, max_windows=args.val_windows,
                          warmup=warmup)
    model, state, resumed = resume_or_build(args, paths)
    synchronize_batch_norm(model)   # global-batch statistics under a strategy (dsp.replicas)
    config = {key: value for key, value in vars(args).items() if key not in NOT_SAVED}
    config["cache"] = str(args.cache or paths["cache"])
    save_config(paths["config"], config)
    if state["epochs_done"] >= args.epochs:
        print(f"already trained for {state['epochs_done']} epochs (>= -e {args.epochs})")
        return model
    callbacks = [EpochSync(train_seq)]
    if args.bn_recalibration and num_replicas == 1:   # eager BN updates: one device only
        callbacks.append(RecalibrateBatchNorm(train_seq, args.bn_recalibration))
    callbacks += [resumed_csv_logger(paths["log"], state["epochs_done"]),  # trimmed to the checkpoint
                  AtomicCheckpoint(paths, state["best_val_loss"]),
                  keras.callbacks.TerminateOnNaN()]
    model.fit(train_seq, validation_data=val_seq, epochs=args.epochs,
              initial_epoch=state["epochs_done"], callbacks=callbacks,
              verbose=1 if sys.stdout.isatty() else 2, shuffle=False)
    print(f"best checkpoint: {paths['best']}; latest: {paths['latest']}; log: {paths['log']}; "
          f"configuration: {paths['config']}")
    return model
