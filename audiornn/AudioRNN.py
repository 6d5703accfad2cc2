"""AudioRNN: train a GRU on 8-bit mu-law audio and generate from it.

Train:     python audiornn/AudioRNN.py -d data/audiornn_corpus -t -e 10 -ts 1000 -n 256
Generate:  python audiornn/AudioRNN.py -g -gl 2 -m models/audiornn/audiornn.keras -a output/audiornn/gen.wav

Training reads (and caches) the uint8 codes of every wav under --datadir,
cuts windows on the fly, holds out the last --val_fraction of every file for
validation, logs to <model>.log.csv and keeps two checkpoints: <model>.keras
(best validation loss) and <model>.latest.keras (with optimizer state).
Re-running the same command resumes from the latest checkpoint (--fresh
starts over).  Generation continues --num_streams seed windows taken from the
validation tails, one network step per sample (--method stateful) or the
original full-window recomputation (--method sliding).
"""
import argparse
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python audiornn/AudioRNN.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from audiornn.AudioRNNData import (MU_VARIANTS, PREEMPHASIS, codes_to_audio, find_wavs,
                                   load_or_prepare)
from dsp.audio import InputError, atomic_output, cli_main, write_wav


def model_paths(modelfile):
    """Files kept next to the (best) model checkpoint."""
    m = Path(modelfile)
    if m.suffix != ".keras":
        raise InputError(f"{m}: the model file must end in .keras")
    stem = m.parent / m.name[:-len(".keras")]
    return {"best": m, "latest": Path(f"{stem}.latest.keras"), "log": Path(f"{stem}.log.csv"),
            "state": Path(f"{stem}.state.json"), "config": Path(f"{stem}.json"),
            "cache": Path(f"{stem}.codes.npz")}


def write_json(path, obj):
    with atomic_output(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=2))


def read_config(modelfile):
    path = model_paths(modelfile)["config"]
    if not path.exists():
        raise InputError(f"{path}: model configuration not found (train first with -t)")
    return json.loads(path.read_text())


def load_data(args, paths):
    """Code cache and train/val window indices for the settings in `args`."""
    from audiornn.windows import split_train_val

    if not args.datadir:
        raise InputError("no data folder: pass -d/--datadir")
    cache = load_or_prepare(args.datadir, args.cache or paths["cache"], sr=args.samplerate,
                            mu=args.mu, coef=args.preemphasis)
    train_idx, val_idx = split_train_val(cache.starts, cache.lengths, args.timesteps,
                                         args.val_fraction)
    if len(train_idx) == 0:
        raise InputError(f"{args.datadir}: timesteps {args.timesteps} is longer than the training "
                         f"part of every file (longest file: {int(cache.lengths.max())} samples)")
    if len(val_idx) == 0:
        raise InputError(f"{args.datadir}: no validation windows: every file's last "
                         f"{args.val_fraction:.0%} is shorter than timesteps + 1 = "
                         f"{args.timesteps + 1} samples (raise --val_fraction or lower -ts)")
    return cache, train_idx, val_idx


def make_checkpointer(paths, best_so_far):
    import keras

    class AtomicCheckpoint(keras.callbacks.Callback):
        """Latest and best-on-validation .keras checkpoints plus resume state, atomically."""

        def __init__(self):
            super().__init__()
            self.best = best_so_far

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            with atomic_output(paths["latest"]) as tmp:
                self.model.save(tmp)
            val = logs.get("val_loss")
            if val is not None and np.isfinite(val) and (self.best is None or val < self.best):
                self.best = float(val)
                with atomic_output(paths["best"]) as tmp:
                    self.model.save(tmp)
            write_json(paths["state"], {"epochs_done": epoch + 1, "best_val_loss": self.best})

    return AtomicCheckpoint()


def train(args):
    import keras

    from audiornn.model import build_model, compile_model, model_dims
    from audiornn.windows import EpochSync, EvalWindows, TrainWindows

    paths = model_paths(args.modelfile)
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

    resume = (not args.fresh) and paths["latest"].exists() and paths["state"].exists()
    state = {"epochs_done": 0, "best_val_loss": None}
    if resume:
        state = json.loads(paths["state"].read_text())
        model = keras.models.load_model(paths["latest"])
        if model_dims(model) != (args.timesteps, args.neurons):
            raise InputError(f"{paths['latest']}: checkpoint has (timesteps, neurons) = "
                             f"{model_dims(model)}, not ({args.timesteps}, {args.neurons}); "
                             "pass --fresh to start over or another -m")
        saved_k = model.optimizer.gradient_accumulation_steps or 1
        if saved_k != args.accumulate:
            raise InputError(f"{paths['latest']}: checkpoint was trained with --accumulate "
                             f"{saved_k}, not {args.accumulate}; pass the same value or --fresh")
        print(f"resuming from {paths['latest']} after epoch {state['epochs_done']}")
    else:
        model = compile_model(build_model(args.timesteps, args.neurons), args.learning_rate,
                              args.accumulate)
        for key in ("log", "state", "latest"):
            paths[key].unlink(missing_ok=True)
    config = {k: v for k, v in vars(args).items() if k not in ("train", "generate")}
    config["cache"] = str(args.cache or paths["cache"])
    write_json(paths["config"], config)
    if state["epochs_done"] >= args.epochs:
        print(f"already trained for {state['epochs_done']} epochs (>= -e {args.epochs})")
        return model
    callbacks = [EpochSync(train_seq),
                 keras.callbacks.CSVLogger(str(paths["log"]), append=resume),
                 make_checkpointer(paths, state["best_val_loss"]),
                 keras.callbacks.TerminateOnNaN()]
    model.fit(train_seq, validation_data=val_seq, epochs=args.epochs,
              initial_epoch=state["epochs_done"], callbacks=callbacks,
              verbose=1 if sys.stdout.isatty() else 2)
    print(f"best checkpoint: {paths['best']}; latest: {paths['latest']}; log: {paths['log']}")
    return model


def seed_windows(cache, val_idx, n_streams, rng):
    """`n_streams` distinct validation windows (the real context each stream continues)."""
    k = rng.choice(len(val_idx), size=n_streams, replace=len(val_idx) < n_streams)
    starts = val_idx.starts(np.sort(k))
    return np.stack([cache.codes[s:s + val_idx.timesteps] for s in starts])


def generate(args):
    import keras
    import tensorflow as tf

    from audiornn.model import StatefulGenerator, generate_sliding, model_dims

    # Tiny per-step ops: one thread avoids cross-core synchronisation per op.
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started (training in the same run)
        pass
    paths = model_paths(args.modelfile)
    if not paths["best"].exists():
        raise InputError(f"{paths['best']}: model file not found (train first with -t)")
    config = read_config(args.modelfile)
    # Seed windows come from the data the model was trained on, encoded the same way.
    for key in ("samplerate", "mu", "preemphasis", "val_fraction"):
        setattr(args, key, config[key])
    same_data = args.datadir is None or Path(args.datadir).resolve() == Path(config["datadir"]).resolve()
    args.datadir = config["datadir"] if same_data else args.datadir
    args.cache = args.cache or (config["cache"] if same_data else paths["cache"].with_suffix(".seed.npz"))
    model = keras.models.load_model(paths["best"])
    args.timesteps, args.neurons = model_dims(model)
    cache, _, val_idx = load_data(args, paths)
    seeds = seed_windows(cache, val_idx, args.num_streams, np.random.default_rng(args.seed))
    n = int(round(args.genlength * args.samplerate))
    print(f"generating {args.num_streams} x {n} samples ({args.method}, "
          f"temperature {args.temperature})")
    if args.method == "sliding":
        codes = generate_sliding(model, seeds, n, args.temperature, args.seed, progress=True)
    else:
        codes = StatefulGenerator(model)(seeds, n, args.temperature, args.seed)
    out = Path(args.audiofile)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for s in range(args.num_streams):
        path = out if args.num_streams == 1 else out.with_name(f"{out.stem}_{s}{out.suffix}")
        audio = codes_to_audio(np.concatenate([seeds[s], codes[s]]), mu=args.mu,
                               coef=args.preemphasis)[seeds.shape[1]:]
        write_wav(path, audio, args.samplerate)
        written.append(str(path))
    print("wrote " + ", ".join(written))
    return codes


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("-d", "--datadir", default=None, help="folder of wav files (recursive); generation defaults to the training one")
    a("-sr", "--samplerate", type=int, default=8000, help="sample rate in Hz (default 8000)")
    a("-t", "--train", action="store_true", help="train (resumes from <model>.latest.keras if present)")
    a("-g", "--generate", action="store_true", help="generate audio with the best checkpoint")
    a("-gl", "--genlength", type=float, default=2.0, help="seconds to generate per stream (default 2)")
    a("-e", "--epochs", type=int, default=10, help="total epochs (default 10)")
    a("-b", "--batchsize", type=int, default=128, help="batch size (default 128)")
    a("-ts", "--timesteps", type=int, default=1000, help="window length T in samples (default 1000)")
    a("-n", "--neurons", type=int, default=256, help="Dense/GRU width (default 256)")
    a("-m", "--modelfile", default="models/audiornn/audiornn.keras",
      help="best checkpoint (.keras); log, latest checkpoint, config and code cache sit next to it")
    a("-a", "--audiofile", default="output/audiornn/generated.wav",
      help="generated wav (streams > 1: <stem>_<k>.wav)")
    a("--seed", type=int, default=0, help="random seed (default 0)")
    a("--steps_per_epoch", type=int, default=None, help="batches per epoch (default: one pass over all windows)")
    a("--val_fraction", type=float, default=0.1, help="held-out tail of every file (default 0.1)")
    a("--val_windows", type=int, default=4096, help="validation windows evaluated per epoch, evenly spread (default 4096)")
    a("--temperature", type=float, default=0.0, help="0 = greedy argmax (the original); > 0 samples")
    a("--num_streams", type=int, default=1, help="independent streams generated at once (default 1)")
    a("--method", choices=("stateful", "sliding"), default="stateful",
      help="stateful: one step per sample; sliding: the original full-window recomputation")
    a("--mu", type=int, default=255, choices=MU_VARIANTS, help="mu-law variant (256 = the original's)")
    a("--preemphasis", type=float, default=PREEMPHASIS, help="pre-emphasis coefficient (default 0.95)")
    a("--learning_rate", type=float, default=1e-3, help="RMSprop learning rate (default 1e-3)")
    a("--accumulate", type=int, default=1,
      help="feed each batch as this many micro-batches, accumulating gradients (less memory)")
    a("--cache", default=None, help="code cache (.npz); default <model>.codes.npz")
    a("--fresh", action="store_true", help="ignore existing checkpoints and start over")
    return p


def check_args(args):
    if not (args.train or args.generate):
        raise InputError("nothing to do: pass -t/--train and/or -g/--generate")
    for name in ("epochs", "batchsize", "timesteps", "neurons", "num_streams", "samplerate"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.accumulate < 1 or args.batchsize % args.accumulate:
        raise InputError(f"--accumulate must be >= 1 and divide -b {args.batchsize}, "
                         f"got {args.accumulate}")
    if args.steps_per_epoch is not None and args.steps_per_epoch < 1:
        raise InputError(f"--steps_per_epoch must be >= 1, got {args.steps_per_epoch}")
    if not 0.0 < args.val_fraction < 1.0:
        raise InputError(f"--val_fraction must be in (0, 1), got {args.val_fraction}")
    if args.temperature < 0 or args.genlength <= 0:
        raise InputError("--temperature must be >= 0 and --genlength > 0")


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    check_args(args)
    if args.train:
        if not args.datadir:
            raise InputError("training needs -d/--datadir")
        find_wavs(args.datadir)  # fail fast on a bad folder, before importing Keras
        train(args)
    if args.generate:
        generate(args)


if __name__ == "__main__":
    main()
