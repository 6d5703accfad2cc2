"""Package a training run as a shippable model folder (e.g. ``pretrained/wavenet``).

Usage:
    python -m wavenet.export --run_dir RUN --out_dir pretrained/wavenet [--checkpoint ema]

Writes ``OUT/vocoder.keras`` (weights and architecture only: no optimizer state, so about a
third of a training checkpoint), ``OUT/vocoder.json`` (model configuration, epoch, losses),
``OUT/config.json`` (the run's resolved flags), ``OUT/log.csv`` (the learning curve),
``OUT/command.sh`` (the exact command, copied from ``RUN/command.sh`` if present, else
rebuilt from the resolved flags), ``OUT/split*.json`` (which files were held out) and
``OUT/learning_curve.png`` (training and validation loss against optimizer steps).
The folder is what ``python -m wavenet.vocode --model_dir OUT`` reads.
"""
import argparse
import csv
import shlex
import shutil
import sys
from pathlib import Path

from matplotlib.figure import Figure

from dsp.audio import InputError, atomic_output, cli_main, write_json
from dsp.presets import load_config

CHECKPOINTS = {"ema": "ckpt/ema.keras", "latest": "ckpt/latest.keras", "final": "vocoder.keras"}


def command_line(config):
    """``python -m wavenet.train`` with every resolved flag of ``config`` (a dict)."""
    parts = ["python", "-m", "wavenet.train"]
    for key, value in sorted(config.items()):
        if value is None or key == "preset":
            continue
        if isinstance(value, bool):
            parts.append(f"--{key}" if value else f"--no-{key}")
        elif isinstance(value, list):
            parts += [f"--{key}"] + [str(v) for v in value]
        else:
            parts += [f"--{key}", str(value)]
    return shlex.join(parts)


def plot_learning_curve(csv_path, png_path, steps_per_epoch):
    """Training and validation cross-entropy (``log.csv``) against optimizer steps, written atomically."""
    with open(csv_path) as f:
        rows = [r for r in csv.DictReader(f) if r.get("loss")]
    steps = [(int(r["epoch"]) + 1) * steps_per_epoch for r in rows]
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(steps, [float(r["loss"]) for r in rows], label="training (epoch mean)", alpha=0.6)
    if rows and rows[0].get("val_loss"):
        ax.plot(steps, [float(r["val_loss"]) for r in rows], label="validation (held-out files)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats per sample)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_output(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


@cli_main
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m wavenet.export", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--run_dir", required=True, help="a `python -m wavenet.train` output folder")
    p.add_argument("--out_dir", required=True, help="the model folder to write")
    p.add_argument("--checkpoint", choices=sorted(CHECKPOINTS), default="ema",
                   help="which weights: the moving average, the last epoch's raw weights, or the final vocoder")
    args = p.parse_args(argv)
    run = Path(args.run_dir)
    ckpt = run / CHECKPOINTS[args.checkpoint]
    for needed in (ckpt, run / "config.json", run / "log.csv"):
        if not needed.is_file():
            raise InputError(f"{needed}: missing from the run folder")
    # Keras loads here, not at the top: --help and flag errors answer at once.
    from wavenet.model import load_vocoder, load_vocoder_meta, save_vocoder

    model, cfg = load_vocoder(ckpt)             # uncompiled: saved without optimizer state
    meta = load_vocoder_meta(ckpt)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_vocoder(model, cfg, out / "vocoder.keras",
                 extra={k: meta[k] for k in ("epoch", "loss", "val_loss", "args") if k in meta})
    config = load_config(run / "config.json")
    write_json(out / "config.json", config)
    # the learning curve and every split record (wavenet.train's split.json, any split_*.json beside it)
    for src in [run / "log.csv"] + sorted(run.glob("split*.json")):
        if src.is_file():
            with atomic_output(out / src.name) as tmp:
                shutil.copyfile(src, tmp)
    plot_learning_curve(run / "log.csv", out / "learning_curve.png", int(config.get("steps_per_epoch") or 1))
    command = (run / "command.sh").read_text() if (run / "command.sh").is_file() else command_line(config) + "\n"
    with atomic_output(out / "command.sh") as tmp:
        Path(tmp).write_text(command)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / 1e6
    print(f"wrote {out} ({size:.1f} MB) from {ckpt} (epoch {meta.get('epoch')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
