"""Export a trained separation model folder as a small, self-contained folder for `separate` (e.g. pretrained/).

    python -m separation.export --model_dir models/sep16 --out_dir pretrained/separation \
        [--vocoder pretrained/wavenet] [--link_vocoder]

Copies `features.json` and, for each of encoder_proposed, encoder_b1 and b2 present, the model without its
optimizer state (a third of the checkpoint's size) with its `.json` (every resolved setting, epoch, score)
and its training log as `logs/<name>.csv` (all of them drawn in `learning_curves.png`). The vocoder
(`vocoder.keras` + `vocoder.json`) comes from `--vocoder` (a folder or `.keras`; default
`<model_dir>/vocoder.keras`): copied, or with `--link_vocoder` linked by a relative symbolic link (a folder
that refers to an already shipped vocoder). The folder is written under a temporary name and renamed: an
existing `--out_dir` is replaced only when all went well.
"""
import argparse
import csv
import json
import os
import shutil
from pathlib import Path

from matplotlib.figure import Figure

import separation.denoising_wavenet  # noqa: F401  (registers B2's layers for load_model)
import separation.layers  # noqa: F401  (registers the encoder's layers)
from dsp.audio import InputError, cli_main
from dsp.backend import load_keras_model
from separation.features import FEATURES_FILE, load_settings, settings_of

MODELS = ("encoder_proposed", "encoder_b1", "b2")


def _vocoder_path(spec, model_dir):
    path = Path(spec) if spec else Path(model_dir) / "vocoder.keras"
    path = path / "vocoder.keras" if path.is_dir() else path
    if not path.is_file() or not path.with_suffix(".json").is_file():
        raise InputError(f"{path}: vocoder checkpoint (and its .json) not found")
    return path


def log_steps(rows, steps_per_epoch):
    """Optimizer steps at the end of each logged epoch, counted across warm restarts.

    A finished run given more epochs continues from its best weights with a new schedule, and its
    log goes on from epoch 0 again (`separation.training.resume_weights`); every epoch that does not
    follow its predecessor starts such a segment, placed after the one before.

    Args:
        rows: the log's rows (dicts with an "epoch" field), in file order.
    Returns:
        list of int, one per row, strictly increasing.
    """
    steps, offset, previous = [], 0, None
    for r in rows:
        epoch = int(r["epoch"])
        if previous is not None and epoch <= previous:
            offset = steps[-1]
        steps.append(offset + (epoch + 1) * int(steps_per_epoch))
        previous = epoch
    return steps


def plot_learning_curves(folder, names, png_path):
    """Training and validation loss of each exported model (``folder/logs/<name>.csv``) against optimizer steps,
    one panel per model, the kept checkpoint (the logged epoch with its validation score) marked."""
    fig = Figure(figsize=(4.2 * len(names), 3.4))
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names):
        meta = json.loads((Path(folder) / f"{name}.json").read_text())
        with open(Path(folder) / "logs" / f"{name}.csv") as fh:
            rows = list(csv.DictReader(fh))
        steps = log_steps(rows, meta["steps_per_epoch"])
        val = [float(r["val_loss"]) for r in rows]
        ax.plot(steps, [float(r["loss"]) for r in rows], label="training", alpha=0.6)
        ax.plot(steps, val, label="validation mixtures")
        kept = min(range(len(val)), key=lambda i: abs(val[i] - float(meta["best"]))) if val else None
        if kept is not None:
            ax.axvline(steps[kept], color="k", ls=":", label="kept")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("optimizer step")
        ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, format="png", dpi=90)


def export(model_dir, out_dir, vocoder=None, link_vocoder=False):
    """Write the exported folder (module docstring); returns the names of the models exported."""
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if not (model_dir / FEATURES_FILE).is_file():
        raise InputError(f"{model_dir / FEATURES_FILE}: not found (not a trained separation model folder)")
    fs = load_settings(model_dir)
    voc = _vocoder_path(vocoder, model_dir)
    if not settings_of(str(voc)).mel_matches(fs):
        raise InputError(f"{voc}: the vocoder's rate or mel differs from the models' features ({model_dir})")
    names = [n for n in MODELS if (model_dir / f"{n}.keras").is_file()]
    if not names:
        raise InputError(f"{model_dir}: none of {', '.join(n + '.keras' for n in MODELS)} found")
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "logs").mkdir(parents=True)
    try:
        shutil.copy(model_dir / FEATURES_FILE, tmp / FEATURES_FILE)
        for name in names:
            if not (model_dir / f"{name}.json").is_file():
                raise InputError(f"{model_dir / name}.json: configuration missing beside {name}.keras")
            load_keras_model(model_dir / f"{name}.keras", "model", compile=False).save(tmp / f"{name}.keras")
            shutil.copy(model_dir / f"{name}.json", tmp / f"{name}.json")
            log = model_dir / "logs" / name / "history.csv"
            if log.is_file():
                shutil.copy(log, tmp / "logs" / f"{name}.csv")
        logged = [n for n in names if (tmp / "logs" / f"{n}.csv").is_file()]
        if logged:
            plot_learning_curves(tmp, logged, tmp / "learning_curves.png")
        for src in (voc, voc.with_suffix(".json")):
            dst = tmp / ("vocoder" + src.suffix)
            if link_vocoder:
                os.symlink(os.path.relpath(src.resolve(), out_dir.resolve()), dst)
            else:
                shutil.copy(src, dst)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return names


@cli_main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--model_dir", required=True, help="the trainers' --model_dir")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--vocoder", help="vocoder folder or .keras (default <model_dir>/vocoder.keras)")
    p.add_argument("--link_vocoder", action="store_true", help="a relative symbolic link instead of a copy")
    a = p.parse_args(argv)
    names = export(a.model_dir, a.out_dir, a.vocoder, a.link_vocoder)
    print(f"exported {', '.join(names)} + vocoder -> {a.out_dir}")


if __name__ == "__main__":
    main()
