"""Package a trained ResGAN run as a shippable model folder (``pretrained/resgan``).

Usage:
    python -m resgan.export --model_dir RUN/models --out_dir pretrained/resgan \
        [--data_dir RUN/traindata] [--command RUN/command.sh] [--figures A.png B.png ...] \
        [--generator_epoch N] [--eval EVAL.jsonl ...]

Writes ``pulse_model.keras`` and ``generator.keras`` (weights and architecture,
no optimizer state), ``stats.json`` (the training data's normalisation and mean
pulses: from the run, or computed from ``--data_dir``), ``config.json`` (the
resolved configuration of both stages), ``pulse_log.csv`` and ``gan_log.csv``
(the learning curves), ``command.sh`` (the exact command), the figures and
evaluation lines given, all under a temporary folder renamed at the end.
``python synthesize.py --model_dir OUT --input_file any.wav --out_dir D`` then
runs without the training data. Refuses to write more than ``--max_mb`` (20).
"""
import argparse
import shutil
import sys
from pathlib import Path

from dsp.audio import InputError, cli_main
from dsp.presets import load_config, save_config
from resgan.constants import MODEL_FILES, STATS_FILE

LOGS = ("pulse_log.csv", "gan_log.csv")


def build_parser():
    p = argparse.ArgumentParser(prog="python -m resgan.export", description=__doc__.split("\n")[0],
                                epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model_dir", required=True, help="the run's model folder (train.py --model_dir)")
    p.add_argument("--out_dir", required=True, help="the model folder to write (replaced)")
    p.add_argument("--data_dir", default=None,
                   help="the run's training data, for stats.json when the run has none")
    p.add_argument("--command", default=None, help="file holding the exact training command")
    p.add_argument("--figures", nargs="*", default=[], help="figures (PNG) to ship beside the model")
    p.add_argument("--eval", nargs="*", default=[],
                   help="files of evaluation output (train.py --mode evaluate) to ship")
    p.add_argument("--generator_epoch", type=int, default=None,
                   help="ship generator_eNN.keras of this epoch (chosen on validation) instead of "
                        "the last generator.keras")
    p.add_argument("--max_mb", type=float, default=20.0, help="size limit of the folder")
    return p


def _check_inputs(args):
    src = Path(args.model_dir)
    needed = [src / n for n in (*MODEL_FILES, "pulse_model.json", "generator.json", *LOGS)]
    needed += [Path(f) for f in (args.command, *args.figures, *args.eval) if f]
    for path in needed:
        if not path.is_file():
            raise InputError(f"{path}: not found")
    if args.generator_epoch is not None and not (src / f"generator_e{args.generator_epoch:02d}.keras").is_file():
        raise InputError(f"{src / f'generator_e{args.generator_epoch:02d}.keras'}: not found")
    if not (src / STATS_FILE).is_file() and not args.data_dir:
        raise InputError(f"{src / STATS_FILE}: not found (give the training data with --data_dir)")


def export(args):
    """Write the folder; returns its size in bytes."""
    _check_inputs(args)
    src, out = Path(args.model_dir), Path(args.out_dir)
    # Keras loads here, not at the top: --help and bad input answer at once.
    from resgan.model_folder import load_model_folder, write_stats

    from dsp.backend import load_keras_model

    folder = load_model_folder(src, args.data_dir)  # checks that models and statistics fit
    generator = folder.generator
    if args.generator_epoch is not None:
        generator = load_keras_model(src / f"generator_e{args.generator_epoch:02d}.keras", "generator",
                                     compile=False)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        folder.pulse_model.save(tmp / "pulse_model.keras")  # loaded without its optimizer
        generator.save(tmp / "generator.keras")
        write_stats(tmp, folder.stats)
        pulse_cfg, gan_cfg = load_config(src / "pulse_model.json"), load_config(src / "generator.json")
        if args.generator_epoch is not None:
            gan_cfg = {**gan_cfg, "epoch": args.generator_epoch, "epochs_trained": gan_cfg.get("epoch")}
        save_config(tmp / "config.json", {"pulse_model": pulse_cfg, "generator": gan_cfg})
        for name in LOGS:
            shutil.copyfile(src / name, tmp / name)
        if args.command:
            shutil.copyfile(args.command, tmp / "command.sh")
        for f in (*args.figures, *args.eval):
            shutil.copyfile(f, tmp / Path(f).name)
        readme = out / "README.md"
        if readme.is_file():  # written by hand: kept across re-exports
            shutil.copyfile(readme, tmp / "README.md")
        size = sum(p.stat().st_size for p in tmp.rglob("*") if p.is_file())
        if size > args.max_mb * 1e6:
            raise InputError(f"{out}: {size / 1e6:.1f} MB, over the {args.max_mb:g} MB limit")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return size


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    size = export(args)
    print(f"wrote {args.out_dir} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
