"""Train the CNN vocoder on segments written by preprocess.py.

Adam (1e-3, weight decay 1e-5, global gradient-norm clip 5) on the spectral
loss of ``cnnvocoder.losses``; every loss term is a metric, so the CSV log and
TensorBoard (``--log_dir``) get one scalar per term for training and
validation.  After every epoch ``<out_dir>/last.keras`` (model + optimiser)
and ``<out_dir>/last.json`` (configuration) are written atomically together
with ``state.json`` (epoch); the best validation model is
``<out_dir>/model.keras`` (+ ``model.json``).  Every ``--sample_every``
epochs a validation segment is synthesised to ``<out_dir>/samples/``.

Resume: ``--resume`` continues from ``<out_dir>/last.keras``, or
``--checkpoint_path X.keras`` from another checkpoint (optimiser state and
epoch counter included).  ``--warm_start X.keras`` only copies the weights
(fresh optimiser, epoch 0), e.g. to fine-tune on a new corpus.

    python cnnvocoder/train.py --data_dir data/cnnvocoder/segments \
        --out_dir models/cnnvocoder --epochs 10 --steps_per_epoch 20
"""
import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from cnnvocoder.config import load_config, make_config, save_config  # noqa: E402
from dsp.audio import InputError, cli_main, write_wav  # noqa: E402


def read_list(data_dir, name):
    path = Path(data_dir) / name
    if not path.is_file():
        raise InputError(f"{path}: missing file list (run preprocess.py first)")
    files = [Path(data_dir) / "segments" / line.strip()
             for line in path.read_text().splitlines() if line.strip()]
    if not files:
        raise InputError(f"{path}: empty file list")
    return files


def load_segment(path, key):
    try:
        with np.load(path) as d:
            return d[key].astype(np.float32), d["wav"].astype(np.float32)
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: unreadable segment ({exc})") from None


def make_dataset(files, config, batch_size, shuffle, seed, steps=None):
    """keras.utils.PyDataset of (spectrogram [B, 81, bins], wav [B, 20736])."""
    import keras

    key = "mel" if config["input"] == "mel" else "spec"

    class Segments(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(len(files))
            self.on_epoch_end()

        def __len__(self):
            n = max(1, len(files) // batch_size)
            return n if steps is None else max(n, steps)

        def on_epoch_end(self):
            if shuffle:
                self.order = self.rng.permutation(len(files))

        def __getitem__(self, i):
            idx = [self.order[(i * batch_size + j) % len(files)] for j in range(batch_size)]
            pairs = [load_segment(files[k], key) for k in idx]
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    return Segments()


def save_atomic(model, path):
    """model.save to a temporary name then rename (a crash never leaves half a file)."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(path)


def make_callbacks(args, config, val_spec, val_wav):
    import keras

    out_dir = Path(args.out_dir)

    class Checkpoints(keras.callbacks.Callback):
        """last.keras every epoch, model.keras on a new best validation loss."""

        def __init__(self, best):
            super().__init__()
            self.best = best

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            save_atomic(self.model, out_dir / "last.keras")
            save_config(config, out_dir / "last.json")
            val = float(logs.get("val_loss", logs.get("loss", np.inf)))
            if val < self.best:
                self.best = val
                save_atomic(self.model, out_dir / "model.keras")
                save_config(config, out_dir / "model.json")
            state = {"epoch": epoch + 1, "best_val_loss": self.best}
            tmp = out_dir / "state.json.tmp"
            tmp.write_text(json.dumps(state))
            tmp.replace(out_dir / "state.json")

    class Samples(keras.callbacks.Callback):
        """Synthesise validation segments (BatchNorm in inference mode)."""

        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % args.sample_every:
                return
            y = np.asarray(self.model(val_spec, training=False))
            for k, wav in enumerate(y):
                write_wav(out_dir / "samples" / f"epoch{epoch + 1:04d}_{k}.wav", wav, config["sr"])

    best = np.inf
    state_path = out_dir / "state.json"
    if args.resume_from and state_path.is_file():
        best = json.loads(state_path.read_text()).get("best_val_loss", np.inf)
    (out_dir / "samples").mkdir(parents=True, exist_ok=True)
    for k, wav in enumerate(val_wav):
        write_wav(out_dir / "samples" / f"target_{k}.wav", wav, config["sr"])
    callbacks = [
        Checkpoints(best),
        Samples(),
        keras.callbacks.CSVLogger(str(out_dir / "log.csv"), append=bool(args.resume_from)),
        keras.callbacks.TerminateOnNaN(),
    ]
    try:
        import tensorboard  # noqa: F401  (tf.summary needs it)
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(args.log_dir),
                                                     update_freq="epoch", write_graph=False))
    except ImportError:
        print("note: tensorboard is not installed; loss terms are logged to "
              f"{out_dir / 'log.csv'} only (pip install tensorboard)", file=sys.stderr)
    return callbacks


def build_and_compile(config, warm_start=None):
    import keras

    from cnnvocoder.losses import make_loss, term_metrics
    from cnnvocoder.model import build_model

    model = build_model(config)
    if warm_start:
        from cnnvocoder.inversion import load_vocoder

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
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data_dir", required=True, help="output folder of preprocess.py")
    p.add_argument("--out_dir", default="models/cnnvocoder", help="checkpoints and samples")
    p.add_argument("--log_dir", default=None, help="TensorBoard logs (default OUT_DIR/logs)")
    p.add_argument("--checkpoint_path", default=None,
                   help="resume from this .keras checkpoint (optimiser + epoch)")
    p.add_argument("--resume", action="store_true", help="resume from OUT_DIR/last.keras")
    p.add_argument("--warm_start", default=None, help="initialise weights from this .keras")
    p.add_argument("--config", default=None, help="JSON file of configuration overrides")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps_per_epoch", type=int, default=20)
    p.add_argument("--validation_steps", type=int, default=2)
    p.add_argument("--batch_size", type=int, default=None, help="default from the config (4)")
    p.add_argument("--sample_every", type=int, default=5, help="epochs between sample wavs")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    args.log_dir = args.log_dir or str(out_dir / "logs")
    args.resume_from = args.checkpoint_path or (
        str(out_dir / "last.keras") if args.resume and (out_dir / "last.keras").is_file() else None)
    if args.resume and not args.resume_from:
        print(f"note: nothing to resume in {out_dir}; starting fresh", file=sys.stderr)

    data_config = load_config(Path(args.data_dir) / "config.json") \
        if (Path(args.data_dir) / "config.json").is_file() else make_config()
    config = dict(data_config)
    if args.resume_from:
        from cnnvocoder.inversion import config_path_for
        cfg_path = config_path_for(args.resume_from)
        if cfg_path:
            config = load_config(cfg_path)
    if args.config:
        overrides = json.loads(Path(args.config).read_text())
        config = make_config(**{**config, **overrides})
    if args.batch_size:
        config["batch_size"] = args.batch_size
    for key in ("sr", "n_fft", "win_length", "hop_length", "ref_level_db", "min_level_db",
                "n_mels", "segment_frames"):
        if config[key] != data_config[key]:
            raise InputError(f"{args.data_dir}: data made with {key}={data_config[key]} but the "
                             f"model configuration has {config[key]}")

    import keras

    keras.utils.set_random_seed(args.seed)
    train_files = read_list(args.data_dir, "train.txt")
    val_files = read_list(args.data_dir, "val.txt")
    initial_epoch = 0
    if args.resume_from:
        import cnnvocoder.layers  # noqa: F401
        import cnnvocoder.losses  # noqa: F401
        if not Path(args.resume_from).is_file():
            raise InputError(f"{args.resume_from}: no such checkpoint")
        model = keras.saving.load_model(args.resume_from, compile=True)
        state = Path(args.resume_from).parent / "state.json"
        if state.is_file():
            initial_epoch = int(json.loads(state.read_text())["epoch"])
        print(f"resuming from {args.resume_from} at epoch {initial_epoch}")
    else:
        model = build_and_compile(config, args.warm_start)
    save_config(config, out_dir / "config.json")

    bs = int(config["batch_size"])
    train = make_dataset(train_files, config, bs, True, args.seed, steps=args.steps_per_epoch)
    val = make_dataset(val_files, config, bs, False, args.seed)
    val_spec, val_wav = val[0]
    val_spec, val_wav = val_spec[:2], val_wav[:2]
    if initial_epoch >= args.epochs:
        print(f"already trained for {initial_epoch} >= {args.epochs} epochs; nothing to do")
        return
    model.fit(train, epochs=args.epochs, initial_epoch=initial_epoch,
              steps_per_epoch=args.steps_per_epoch, validation_data=val,
              validation_steps=min(args.validation_steps, len(val)),
              callbacks=make_callbacks(args, config, val_spec, val_wav), verbose=2)
    print(f"done: {out_dir / 'model.keras'} (best), {out_dir / 'last.keras'} (last)")


if __name__ == "__main__":
    main()
