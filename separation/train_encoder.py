"""Stage 02: train the proposed mel encoder or baseline B1 on the stage-01 mixtures.

    python -m separation.train_encoder --kind proposed --data_dir data/separation \
        --models_dir models/separation [--preset paper] [--epochs 20] [--resume]

Adam (1e-3, x0.98 per epoch), the paper's weighted squared error, random 64-frame
crops. The best model on the validation mixtures is kept as
`<models_dir>/encoder_<kind>.keras` (+ `.json` with the config and score), which
`separation.separate` loads by that name. Logs in `<models_dir>/logs/encoder_<kind>/`.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

from dsp.audio import cli_main  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--kind", choices=("proposed", "b1"), default="proposed")
    p.add_argument("--data_dir", default="data/separation")
    p.add_argument("--models_dir", default="models/separation")
    p.add_argument("--preset", choices=("default", "paper"), default="default",
                   help="network size: 'paper' (BiLSTM 400/200, 32/64 channels) or a narrow CPU default")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps_per_epoch", type=int, default=40)
    p.add_argument("--batch_size", type=int, default=None,
                   help="crops per batch (default 16; 4 for B1 with the default preset: its 64x512 "
                        "images make a batch of 16 ~2.5x slower per example than 4 on a CPU)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max_minutes", type=float, default=None, help="stop after this much training time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run")
    return p


def default_batch_size(kind, preset):
    """16 crops, except B1 with the CPU preset: 4 (per example ~2.5x faster than 16 on a CPU)."""
    return 4 if (kind == "b1" and preset == "default") else 16


def train(kind, data_dir, models_dir, preset="default", epochs=20, steps_per_epoch=40,
          batch_size=None, lr=1e-3, max_minutes=None, seed=0, resume=False, cfg=None, verbose=2):
    """Train and return (model, history). `cfg` overrides `preset` (tests use tiny configs)."""
    import dataclasses

    import keras

    from separation.data import CropDataset, load_split, validation_arrays
    from separation.encoder import EncoderConfig, build_encoder, compile_encoder
    from separation.training import standard_callbacks

    keras.utils.set_random_seed(seed)
    cfg = cfg or EncoderConfig.preset(preset)
    batch_size = batch_size or default_batch_size(kind, preset)
    train_items = load_split(data_dir, "train", kind)
    val_items = load_split(data_dir, "val", kind)
    train_ds = CropDataset(train_items, cfg.frames, batch_size, steps_per_epoch, seed)
    val_x, val_y = validation_arrays(val_items, cfg.frames)
    model = compile_encoder(build_encoder(kind, cfg), lr)
    models_dir = Path(models_dir)
    ckpt = models_dir / f"encoder_{kind}.keras"
    if resume and ckpt.is_file() and not (models_dir / "logs" / f"encoder_{kind}" / "backup").is_dir():
        # the previous run finished (its backup is gone): continue from the best checkpoint
        model.load_weights(ckpt)
        print(f"resuming from the weights of {ckpt}")
    callbacks = standard_callbacks(
        ckpt, models_dir / "logs" / f"encoder_{kind}", lr,
        extra={"kind": kind, "config": dataclasses.asdict(cfg), "data_dir": str(data_dir), "seed": seed,
               "batch_size": batch_size, "steps_per_epoch": steps_per_epoch},
        max_minutes=max_minutes, resume=resume)
    hist = model.fit(train_ds, validation_data=(val_x, val_y), epochs=epochs,
                     callbacks=callbacks, verbose=verbose)
    return model, hist


@cli_main
def main(argv=None):
    a = build_parser().parse_args(argv)
    _, hist = train(a.kind, a.data_dir, a.models_dir, a.preset, a.epochs, a.steps_per_epoch,
                    a.batch_size, a.lr, a.max_minutes, a.seed, a.resume)
    v = hist.history.get("val_loss", [float("nan")])
    print(f"encoder {a.kind}: best val_loss {min(v):.4f} -> {Path(a.models_dir) / f'encoder_{a.kind}.keras'}")


if __name__ == "__main__":
    main()
