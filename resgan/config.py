"""train.py's flags, its presets and their checks (no Keras: `--help` answers at once).

A preset is a JSON file in ``resgan/presets/`` (``quick``, the default, and
``paper``) that sets the defaults of train.py's own flags; flags given on the
command line win (``dsp.presets``). The flags' own defaults are the paper's
settings; the resolved configuration is saved beside every checkpoint.
"""
import argparse
from pathlib import Path

from dsp import presets
from dsp.distribute import add_distribute_args

PRESET_DIR = Path(__file__).resolve().parent / "presets"
DEFAULT_PRESET = "quick"
MODES = ("train", "train_pulse_model", "train_noise_model", "generate", "evaluate")

DESCRIPTION = "ResGAN: train the pulse model and the GAN noise model, generate, evaluate."


def build_parser():
    """train.py's flags with the paper's settings as defaults (no --preset flag)."""
    p = argparse.ArgumentParser(prog="train.py", description=DESCRIPTION,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--mode", choices=MODES, default="train")
    p.add_argument("--data_dir", default="./traindata", help="training data.nc1 ... files")
    p.add_argument("--testdata_dir", default="./testdata", help="test data.nc1 ... files")
    p.add_argument("--out_dir", default="./output", help="generated <tag>.pls files")
    p.add_argument("--model_dir", default="./models", help="checkpoints and their configurations")
    p.add_argument("--figures_dir", default="./figures")
    p.add_argument("--wav_dir", default=None,
                   help="evaluate: a folder of recordings (any rate) to analyse with the model's "
                        "statistics and score (resgan/recording_evaluation.py); without it, the "
                        "packaged test set of --testdata_dir is scored")
    p.add_argument("--recordings_dir", default="./data/synthetic/wav",
                   help="the packaged test set's original recordings <tag>.wav "
                        "(evaluate without --wav_dir: mel-cepstral distortion)")
    p.add_argument("--gan_noise", choices=("frame", "utterance"), default="utterance",
                   help="evaluate --wav_dir: the GAN's noise, one vector per recording "
                        "(quasi-periodic excitation; chosen on validation) or a new one every "
                        "frame (as in training)")
    p.add_argument("--skip_bad", action="store_true",
                   help="evaluate --wav_dir: skip unusable recordings with a warning")
    p.add_argument("--val_dir", default=None,
                   help="validation data.nc1 ... files for the learning curve and early stopping "
                        "(default: the last training file, or the first test file)")
    p.add_argument("--rnn_context_len", type=int, default=1, help="frames of GRU context")
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--max_files", type=int, default=None, help="use only the first N data files")
    p.add_argument("--pulse_filters", type=int, default=100,
                   help="channels of the pulse model's convolutions")
    p.add_argument("--gan_filters", type=int, default=100,
                   help="channels of the generator's convolutions")
    p.add_argument("--gan_pitch_window", action=argparse.BooleanOptionalAction, default=False,
                   help="multiply the generator's noise by each frame's pitch window (the two-period "
                        "Hann window the target pulses were cut with; resgan.models.pitch_windows)")
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
    p.add_argument("--lr_halve_every", type=int, default=0,
                   help="halve the pulse model's learning rate every N epochs (0: constant)")
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
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue after the last finished epoch of an interrupted run "
                        "(--no-resume: ignore the backups and start over)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2),
                   help="Keras fit verbosity (1: progress bar)")
    add_distribute_args(p)  # --distribute, --logical_cpus, --mixed_precision (training modes)
    return p


def check_args(args):
    """ValueError naming the flag for values no stage can use."""
    for name in ("rnn_context_len", "batch_size", "pulse_filters", "gan_filters", "epochs_pulse", "epochs_gan",
                 "patience", "plot_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.output_gain <= 0:
        raise ValueError(f"--output_gain must be > 0, got {args.output_gain}")
    if args.lr_halve_every < 0:
        raise ValueError(f"--lr_halve_every must be >= 0, got {args.lr_halve_every}")
    for name in ("max_files", "steps_per_epoch", "steps_per_epoch_gan", "mix_files"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be >= 1, got {value}")


def parse_args(argv=None):
    """train.py's arguments: ``--preset`` (default quick) sets the defaults, flags win.

    Raises:
        dsp.audio.InputError: unknown preset or a preset setting that is no flag.
        ValueError: a flag value out of range (`check_args`).
    """
    args = presets.parse_args(build_parser(), PRESET_DIR, argv, default=DEFAULT_PRESET)
    check_args(args)
    return args
