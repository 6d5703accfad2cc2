#!/usr/bin/env python
"""ResGAN: train the pulse model and the GAN noise model, generate, evaluate.

    python train.py --mode train               # stage 1 then stage 2
    python train.py --mode train_pulse_model   # stage 1: least-squares pulse model
    python train.py --mode train_noise_model   # stage 2: GAN (pulse model frozen)
    python train.py --mode generate            # <output_dir>/<tag>.pls, .pls_nonoise
    python train.py --mode evaluate            # one JSON line of metrics

Training resumes from the last finished epoch when re-run (``--restart`` to
start over). See resgan_train.py (stages), resgan_gan.py (the GAN step),
resgan_eval.py (generation, metrics) and models.py (the networks).
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODES = ("train", "train_pulse_model", "train_noise_model", "generate", "evaluate")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--mode", choices=MODES, default="train")
    p.add_argument("--data_dir", default="./traindata", help="training data.nc1 ... files")
    p.add_argument("--testdata_dir", default="./testdata", help="test data.nc1 ... files")
    p.add_argument("--output_dir", default="./output", help="generated .pls files")
    p.add_argument("--model_dir", default="./models", help="checkpoints")
    p.add_argument("--figures_dir", default="./figures")
    p.add_argument("--wav_dir", default="./data/synthetic/wav",
                   help="original recordings <tag>.wav (evaluate: mel-cepstral distortion)")
    p.add_argument("--rnn_context_len", type=int, default=1, help="frames of GRU context")
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--max_files", type=int, default=None, help="use only the first N data files")
    p.add_argument("--epochs_pulse", type=int, default=20)
    p.add_argument("--epochs_gan", type=int, default=15)
    p.add_argument("--steps_per_epoch", type=int, default=None,
                   help="cap on batches per epoch (random batches; default: all)")
    p.add_argument("--steps_per_epoch_gan", type=int, default=None,
                   help="cap for stage 2 (default: --steps_per_epoch)")
    p.add_argument("--val_frames", type=int, default=0,
                   help="held-out frames for early stopping (0: the whole file)")
    p.add_argument("--patience", type=int, default=5, help="early-stopping patience (epochs)")
    p.add_argument("--lr_pulse", type=float, default=1e-4, help="Adam, pulse model")
    p.add_argument("--lr_g", type=float, default=1e-4, help="Adam, generator")
    p.add_argument("--lr_d", type=float, default=1e-5, help="SGD, discriminator")
    p.add_argument("--spectral_weight", type=float, default=0.0,
                   help="weight of the pulse model's spectral-view MSE")
    p.add_argument("--bn_momentum", type=float, default=0.99,
                   help="BatchNorm moving-average momentum (smaller for short runs)")
    p.add_argument("--mix_files", type=int, default=4,
                   help="each batch mixes this many sub-batches drawn from random data files "
                        "(BatchNorm sees corpus-wide, not one speaker's, statistics)")
    p.add_argument("--output_gain", type=float, default=1 / 20,
                   help="fixed gain on the pulse model's output (1/20 = RMS of the unit-energy "
                        "target pulses; 1: none)")
    p.add_argument("--peek_weight", type=float, default=1.0, help="feature-matching weight")
    p.add_argument("--plot_every", type=int, default=200, help="figure every N batches")
    p.add_argument("--eval_utts", type=int, default=5, help="utterances synthesised for MCD")
    p.add_argument("--restart", action="store_true", help="ignore existing backups")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2),
                   help="Keras fit verbosity (1: progress bar)")
    return p


def check_args(args):
    for name in ("rnn_context_len", "batch_size", "epochs_pulse", "epochs_gan", "patience",
                 "plot_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.output_gain <= 0:
        raise ValueError(f"--output_gain must be > 0, got {args.output_gain}")
    for name in ("max_files", "steps_per_epoch", "steps_per_epoch_gan", "mix_files"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be >= 1, got {value}")


def main(argv=None):
    from dsp.audio import cli_main

    @cli_main
    def run():
        args = build_parser().parse_args(argv)
        check_args(args)
        import keras

        import resgan_eval
        import resgan_train

        keras.utils.set_random_seed(args.seed)
        if args.mode in ("train", "train_pulse_model"):
            resgan_train.train_pulse_model(args)
        if args.mode in ("train", "train_noise_model"):
            resgan_train.train_noise_model(args)
        if args.mode == "generate":
            n, frames, secs = resgan_eval.generate(args.testdata_dir, args.output_dir,
                                                   args.model_dir, args.rnn_context_len, args.seed)
            audio_s = frames * 80 / 16000
            print(f"generated {n} utterances ({frames} frames, {audio_s:.1f} s of speech) in "
                  f"{secs:.1f} s ({audio_s / max(secs, 1e-9):.1f}x real time) -> {args.output_dir}")
        if args.mode == "evaluate":
            resgan_eval.print_json(resgan_eval.evaluate(args))
        return 0

    return run()


if __name__ == "__main__":
    sys.exit(main())
