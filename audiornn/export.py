"""Package a trained AudioRNN as a shippable model folder (e.g. ``pretrained/audiornn``).

Usage:
    python -m audiornn.export -m RUN/audiornn.keras --out_dir pretrained/audiornn \
        [--command RUN/command.sh] [--split RUN/split/split.json]

Writes, under the names the command lines expect beside ``-m OUT/audiornn.keras``:
``audiornn.keras`` (the best checkpoint's weights without optimizer state),
``audiornn.json`` (the resolved configuration; the code cache is re-made beside
the model when a user evaluates on data of their own), ``audiornn.log.csv``
(the learning curve), ``audiornn.eval.json`` if the run was evaluated,
``command.sh`` (the exact command) and ``split.json`` (which files were held
out).  ``python -m audiornn.AudioRNN -g -m OUT/audiornn.keras`` then generates
from silence or continues a ``--prime`` recording, without the training data.
"""
import argparse
import shutil
import sys
from pathlib import Path

from audiornn.checkpoint import check_trained, model_paths
from dsp.audio import InputError, atomic_output, cli_main
from dsp.presets import save_config


def build_parser():
    p = argparse.ArgumentParser(prog="python -m audiornn.export", description=__doc__.split("\n")[0],
                                epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--model", required=True, help="the run's best checkpoint (.keras)")
    p.add_argument("--out_dir", required=True, help="the model folder to write")
    p.add_argument("--command", default=None, help="file holding the exact training command")
    p.add_argument("--split", default=None, help="split.json of corpus.split (held-out files)")
    p.add_argument("--temperature", type=float, default=None,
                   help="sampling temperature saved with the model for -g (e.g. one chosen on "
                        "validation); default: the run's")
    p.add_argument("--figures", nargs="*", default=[], help="figures (PNG) to ship beside the model")
    return p


def _copy(source, target):
    with atomic_output(target) as tmp:
        shutil.copyfile(source, tmp)


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    paths = model_paths(args.model)
    config = check_trained(args.model)
    for needed in (paths["log"], *(Path(f) for f in (args.command, args.split, *args.figures) if f)):
        if not Path(needed).is_file():
            raise InputError(f"{needed}: not found")
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = model_paths(out / paths["best"].name)
    # Keras loads here, not at the top: --help and bad input answer at once.
    from audiornn.model import build_model, model_dims, model_targets
    from dsp.backend import load_keras_model

    trained = load_keras_model(paths["best"], "model")
    bare = build_model(*model_dims(trained), *model_targets(trained))   # uncompiled: no optimizer
    bare.set_weights(trained.get_weights())
    with atomic_output(target["best"]) as tmp:
        bare.save(tmp)
    # start="silence": the training data does not travel with the model, so -g behaves the same
    # on every machine (a user's own data is given with --prime).
    config.update(cache=None, model=str(target["best"]), start="silence")
    if args.temperature is not None:
        config["temperature"] = args.temperature
    save_config(target["config"], config)
    _copy(paths["log"], target["log"])
    if paths["eval"].is_file():
        _copy(paths["eval"], target["eval"])
    if args.command:
        _copy(args.command, out / "command.sh")
    if args.split:
        _copy(args.split, out / "split.json")
    for figure in args.figures:
        _copy(figure, out / Path(figure).name)
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / 1e6
    print(f"wrote {out} ({size:.1f} MB) from {paths['best']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
