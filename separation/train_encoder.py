"""Stage 2: train the proposed mel encoder or baseline B1 on the stage-1 mixtures.

    python -m separation.train_encoder --kind proposed --data_dir data/separation \
        --model_dir models/separation [--preset realdata] [--epochs 20] [--no-resume]

Settings come from the preset `separation/presets/<kind>/NAME.json` (default,
realdata, paper); a flag given here overrides it. Adam (x0.98 per epoch), the
paper's weighted squared error, random 64-frame crops of the saved training mixtures
or (``--mixing dynamic``) of mixtures made afresh for every crop. The best model on the
validation mixtures is kept as `<model_dir>/encoder_<kind>.keras`, with
`encoder_<kind>.json` beside it (every resolved flag, the network sizes, epoch and
score), which `separation.separate` loads by that name. Logs in
`<model_dir>/logs/encoder_<kind>/`. An interrupted run resumes (`--no-resume`
starts over).
"""
import argparse
from pathlib import Path

import keras

from dsp.audio import cli_main
from dsp.presets import parse_args
from separation import settings
from separation.data import CropDataset, load_split, validation_arrays
from separation.dynamic_mixing import add_mixing_flags, dynamic_mixtures
from separation.encoder import KINDS, OUTPUTS, EncoderConfig, build_encoder, compile_encoder
from separation.features import claim_settings, load_settings
from separation.training import add_training_flags, fit_checkpointed, run_distributed


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--kind", choices=KINDS, default="proposed",
                   help="proposed (clean mel) or b1 (clean linear spectrum); picks the preset folder")
    add_training_flags(p, "encoder_<kind>")
    add_mixing_flags(p)
    net = p.add_argument_group("network sizes (EncoderConfig; defaults: the preset)")
    for field, value in EncoderConfig().to_dict().items():
        if field == "output":
            net.add_argument("--output", choices=OUTPUTS, default=value,
                             help="mapping: the paper's sigmoid estimate; "
                                  "mask: a sigmoid gain on the mixture's feature")
        else:
            net.add_argument(f"--{field}", type=type(value), default=value)
    return p


def parse(argv=None):
    """Resolve the flags: the preset of the chosen --kind, then the command line."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--kind", choices=KINDS, default="proposed")
    kind = first.parse_known_args(argv)[0].kind
    return parse_args(build_parser(), settings.preset_dir(kind), argv, default="default")


def train(args, verbose=2):
    """Train encoder `args.kind` with the resolved flags `args` (from `parse`); returns (model, history).

    With ``--distribute`` the whole run happens in the strategy's scope (`run_distributed`).
    """
    return run_distributed(args, _train, verbose)


def _train(args, verbose):
    keras.utils.set_random_seed(args.seed)
    cfg = EncoderConfig.from_dict(vars(args))
    fs = load_settings(args.data_dir)
    claim_settings(args.model_dir, fs)
    if args.mixing == "dynamic":
        train_ds = dynamic_mixtures(args, fs, kind=args.kind, frames=cfg.frames, batch_size=args.batch_size,
                                    steps=args.steps_per_epoch)
    else:
        train_items = load_split(args.data_dir, "train", args.kind)
        train_ds = CropDataset(train_items, cfg.frames, args.batch_size, args.steps_per_epoch, args.seed)
    val_items = load_split(args.data_dir, "val", args.kind)
    val_x, val_y = validation_arrays(val_items, cfg.frames)
    model = compile_encoder(build_encoder(args.kind, cfg, n_linear=fs.n_linear, n_mels=fs.n_mels), args.lr)
    hist = fit_checkpointed(model, f"encoder_{args.kind}", args, cfg.to_dict(), train_ds, (val_x, val_y),
                            verbose=verbose, config_defaults=EncoderConfig().to_dict())
    return model, hist


@cli_main
def main(argv=None):
    a = parse(argv)
    _, hist = train(a)
    v = hist.history.get("val_loss", [float("nan")])
    print(f"encoder {a.kind}: best val_loss {min(v):.4f} -> {Path(a.model_dir) / f'encoder_{a.kind}.keras'}")


if __name__ == "__main__":
    main()
