"""Train the spoken-digit classifier that scores the GANs (`wavegan.classifier`).

Trains on the training speakers of a `wavegan.data` folder, stops early on the
validation speaker's accuracy, and measures the test accuracy once, on the
speaker it never saw. Every epoch the training clips are shifted by a random
0..``max_shift`` samples (a circular shift: FSDD clips end in zeros, see
`wavegan.data`), played up to ``max_speed`` faster or slower (pitch and
formants move: new voices from the four training speakers) and, with
probability ``noise_probability``, get white noise 15-50 dB below their RMS
level: generated clips start anywhere and are never exactly silent, which the
four FSDD training voices would otherwise not teach.

Writes to ``--out_dir``: ``classifier.keras`` (the best epoch), ``config.json``
(the resolved settings), ``log.csv`` (one row per epoch), ``results.json``
(validation and test accuracy, test confusion matrix), ``command.sh``, ``README.md``.

    python -m wavegan.train_classifier --data_dir data/wavegan/fsdd \
        --out_dir pretrained/digit_classifier [--preset cpu|paper]
"""
import argparse
import csv
import json
import shlex
import sys
import time
from pathlib import Path

import keras
import numpy as np

from dsp.audio import InputError, atomic_output, cli_main, write_json
from dsp.presets import parse_args, save_config
from wavegan.classifier import build_classifier
from wavegan.data import load_split

PRESET_DIR = Path(__file__).parent / "classifier_presets"
LOG_FIELDS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]


def change_speed(x, factor):
    """`x` [time] played `factor` times faster (linear interpolation), zero-padded to its length.

    Pitch and formants move with the speed, as with another, smaller or larger, voice
    (the speed perturbation of Ko et al. 2015).
    """
    positions = np.arange(len(x)) * factor
    return np.interp(positions, np.arange(len(x)), x, right=0.0).astype(np.float32)


def augment(audio, rng, max_shift, noise_probability, max_speed=0.0):
    """Randomly shifted, sped-up or slowed-down, partly noisy copies of the clips.

    Args:
        audio: float32 [n, time].
        rng: numpy Generator.
        max_shift: int, largest circular shift to the right in samples.
        noise_probability: float, share of clips that get white noise 15-50 dB
            below their RMS level.
        max_speed: float, speed factors are drawn from [1 - max_speed, 1 + max_speed].
    Returns:
        float32 [n, time].
    """
    out = np.empty_like(audio)
    shifts = rng.integers(0, max_shift + 1, size=len(audio))
    speeds = rng.uniform(1.0 - max_speed, 1.0 + max_speed, size=len(audio))
    for i, shift in enumerate(shifts):
        x = change_speed(audio[i], speeds[i]) if max_speed > 0 else audio[i]
        out[i] = np.roll(x, shift)
    noisy = rng.random(len(audio)) < noise_probability
    rms = np.sqrt(np.mean(audio ** 2, axis=1, keepdims=True))
    snr_db = rng.uniform(15.0, 50.0, size=(len(audio), 1))
    noise = rng.standard_normal(audio.shape).astype(np.float32) * rms * 10 ** (-snr_db / 20)
    out[noisy] += noise[noisy]
    return out


def _write_log(path, rows):
    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)


def fit(model, data, args, out_dir):
    """Train with early stopping on validation accuracy; the best epoch is kept.

    Args:
        model: compiled classifier.
        data: dict with "train" and "val" (audio [n, time], labels [n]).
        args: the resolved settings (epochs, batch_size, patience, max_shift,
            noise_probability, max_minutes, seed).
        out_dir: Path; ``classifier.keras`` and ``log.csv`` are rewritten as it goes.
    Returns:
        (rows, best_row): the log rows and the row of the kept epoch.
    """
    rng = np.random.default_rng(args.seed)
    (x, y), (xv, yv) = data["train"], data["val"]
    x, y = np.concatenate([x] * args.repeats), np.concatenate([y] * args.repeats)
    rows, best, since_best, start = [], None, 0, time.time()
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        # an exponential decay: the single validation speaker's accuracy jumps by 10 points
        # from epoch to epoch at a constant rate, which makes early stopping a lottery
        model.optimizer.learning_rate.assign(args.learning_rate * args.lr_decay ** (epoch - 1))
        xa = augment(x, rng, args.max_shift, args.noise_probability, args.max_speed)
        hist = model.fit(xa, y, batch_size=args.batch_size, epochs=1, shuffle=True, verbose=0)
        val_loss, val_acc = model.evaluate(xv, yv, batch_size=64, verbose=0)
        row = {"epoch": epoch, "loss": round(hist.history["loss"][-1], 5),
               "accuracy": round(hist.history["accuracy"][-1], 5),
               "val_loss": round(float(val_loss), 5), "val_accuracy": round(float(val_acc), 5),
               "seconds": round(time.time() - t0, 1)}
        rows.append(row)
        _write_log(out_dir / "log.csv", rows)
        print(" ".join(f"{k} {v}" for k, v in row.items()), flush=True)
        if best is None or row["val_accuracy"] > best["val_accuracy"]:
            best, since_best = row, 0
            with atomic_output(out_dir / "classifier.keras") as tmp:
                model.save(tmp)
        else:
            since_best += 1
        if since_best >= args.patience:
            print(f"early stop: no better validation accuracy for {args.patience} epochs")
            break
        if args.max_minutes and time.time() - start > 60 * args.max_minutes:
            print(f"stopped after {args.max_minutes} minutes (--max_minutes)")
            break
    return rows, best


def confusion(labels, predicted, n=10):
    """[n, n] int counts: row = true digit, column = predicted digit."""
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def write_readme(out_dir, args, results):
    """A short README.md of what the folder holds and how well it classifies."""
    text = f"""# Spoken-digit classifier (FSDD, 8 kHz), the GAN metrics' judge

`classifier.keras` maps raw audio `[batch, {args.length}]` (8 kHz, zero-padded at the end) to
`p(digit | audio)` `[batch, 10]`: log-mel ({args.n_mels} bins, FFT {args.n_fft}, hop
{args.hop_length}, standardised per clip) -> 4 x [conv 5x5 {args.filters} filters, ReLU,
max-pool 2, batch norm] -> dense 10 softmax (the WaveGAN paper's classifier with
{args.filters} instead of 128 filters{'' if args.filters != 128 else ' (as published)'}),
{results['parameters']:,} parameters. Load it with `wavegan.classifier.load_classifier`.

Split by speaker (`wavegan.data`): trained on {', '.join(results['train_speakers'])}, early
stopping on {', '.join(results['val_speakers'])}, tested once on {', '.join(results['test_speakers'])}.

| | accuracy |
|---|---|
| validation speaker (best epoch {results['best_epoch']}) | {results['val_accuracy']:.4f} |
| test speaker, never seen | {results['test_accuracy']:.4f} |

Each epoch the training clips were shifted by up to {args.max_shift} samples, played up to
{100 * args.max_speed:.0f} % faster or slower and, half of them (`noise_probability`
{args.noise_probability}), given faint white noise (`wavegan.train_classifier`).

Training: {results['epochs_run']} epochs, {results['train_minutes']:.1f} min on 2 CPU cores
(`log.csv`); the settings are in `config.json` (preset `{args.preset}`), the command in
`command.sh`, the test confusion matrix in `results.json`.
"""
    with atomic_output(out_dir / "README.md") as tmp:
        Path(tmp).write_text(text)


def _speakers(data_dir):
    parts = json.loads((Path(data_dir) / "split.json").read_text())["parts"]
    return {part: parts[part]["speakers"] for part in ("train", "val", "test")}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m wavegan.train_classifier",
        description="Train the spoken-digit classifier on a wavegan.data folder (split by speaker).")
    parser.add_argument("--data_dir", required=True, help="output of python -m wavegan.data")
    parser.add_argument("--out_dir", required=True, help="where classifier.keras etc. go")
    parser.add_argument("--sr", type=int, default=8000)
    parser.add_argument("--length", type=int, default=8192)
    parser.add_argument("--n_fft", type=int, default=512)
    parser.add_argument("--hop_length", type=int, default=64)
    parser.add_argument("--n_mels", type=int, default=128)
    parser.add_argument("--filters", type=int, default=32, help="channels of every conv (paper 128)")
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--lr_decay", type=float, default=1.0,
                        help="learning rate multiplied by this every epoch")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=8, help="epochs without a better val accuracy")
    parser.add_argument("--max_shift", type=int, default=1600, help="largest random shift (samples)")
    parser.add_argument("--noise_probability", type=float, default=0.5)
    parser.add_argument("--max_speed", type=float, default=0.0,
                        help="random speed (and pitch) change of up to this fraction")
    parser.add_argument("--repeats", type=int, default=1,
                        help="augmented copies of the training set per epoch")
    parser.add_argument("--max_minutes", type=float, default=20.0, help="stop after this (0: no limit)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


@cli_main
def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(build_parser(), PRESET_DIR, argv, default="cpu")
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {part: load_split(args.data_dir, part) for part in ("train", "val", "test")}
    if data["train"][0].shape[1] != args.length:
        raise InputError(f"{args.data_dir}: clips of {data['train'][0].shape[1]} samples, "
                         f"the classifier expects --length {args.length}")
    keras.utils.set_random_seed(args.seed)
    model = build_classifier(length=args.length, sr=args.sr, n_fft=args.n_fft,
                             hop_length=args.hop_length, n_mels=args.n_mels,
                             filters=args.filters, dropout=args.dropout)
    model.compile(keras.optimizers.Adam(args.learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    save_config(out_dir / "config.json", args)
    with atomic_output(out_dir / "command.sh") as tmp:
        Path(tmp).write_text("#!/bin/bash\npython -m wavegan.train_classifier "
                             + shlex.join(argv) + "\n")
    start = time.time()
    rows, best = fit(model, data, args, out_dir)
    minutes = (time.time() - start) / 60
    model = keras.saving.load_model(out_dir / "classifier.keras")
    xt, yt = data["test"]
    predicted = np.argmax(model.predict(xt, batch_size=64, verbose=0), axis=1)
    speakers = _speakers(args.data_dir)
    results = {"best_epoch": best["epoch"], "val_accuracy": best["val_accuracy"],
               "test_accuracy": float(np.mean(predicted == yt)), "epochs_run": len(rows),
               "train_minutes": round(minutes, 2), "parameters": int(model.count_params()),
               "train_speakers": speakers["train"], "val_speakers": speakers["val"],
               "test_speakers": speakers["test"],
               "test_confusion": confusion(yt, predicted).tolist()}
    write_json(out_dir / "results.json", results)
    write_readme(out_dir, args, results)
    print(f"test accuracy on {', '.join(speakers['test'])} (never seen): "
          f"{results['test_accuracy']:.4f}; validation {best['val_accuracy']:.4f} (epoch "
          f"{best['epoch']}); {minutes:.1f} min")


if __name__ == "__main__":
    main()
