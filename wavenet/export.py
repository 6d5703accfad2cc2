"""Package a training run as a shippable model folder (e.g. ``pretrained/wavenet``).

Usage:
    python -m wavenet.export --run_dir RUN --out_dir pretrained/wavenet [--checkpoint ema]

Writes ``OUT/vocoder.keras`` (weights and architecture only: no optimizer state, so about a
third of a training checkpoint), ``OUT/vocoder.json`` (model configuration, epoch, losses),
``OUT/config.json`` (the run's resolved flags), ``OUT/log.csv`` (the learning curve),
``OUT/command.sh`` (the exact command, copied from ``RUN/command.sh`` if present, else
rebuilt from the resolved flags) and ``OUT/split.json`` (which files were held out).
The folder is what ``python -m wavenet.vocode --model_dir OUT`` reads.
"""
import argparse
import shlex
import shutil
import sys
from pathlib import Path

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
    for name in ("log.csv", "split.json"):
        if (run / name).is_file():
            with atomic_output(out / name) as tmp:
                shutil.copyfile(run / name, tmp)
    command = (run / "command.sh").read_text() if (run / "command.sh").is_file() else command_line(config) + "\n"
    with atomic_output(out / "command.sh") as tmp:
        Path(tmp).write_text(command)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / 1e6
    print(f"wrote {out} ({size:.1f} MB) from {ckpt} (epoch {meta.get('epoch')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
