"""AudioRNN: train a GRU on 8-bit mu-law audio (-t) and generate from it (-g).

The command line of the original (its short flags, long forms beside them).
Training (audiornn/training.py) uses Keras only; generation (-g,
audiornn/generation.py) is TensorFlow-only.

Train:     python -m audiornn.AudioRNN -t -d data/audiornn_corpus                  # preset "default"
           python -m audiornn.AudioRNN -t -d DIR --preset original -m models/orig/audiornn.keras
           python -m audiornn.AudioRNN -t -d DIR -ts 1000 -n 256 -e 10              # flags beat the preset
Generate:  python -m audiornn.AudioRNN -g -gl 2 -m models/audiornn/audiornn.keras -a output/audiornn/gen.wav

--preset NAME (audiornn/presets/NAME.json, or a path to a .json) sets the
sizes and training settings; flags given on the command line override it.
Training reads (and caches) the uint8 codes of every wav under --data_dir,
cuts windows on the fly, holds out the last --val_fraction of every file for
validation, logs to <model>.log.csv and keeps two checkpoints: <model>.keras
(best validation loss) and <model>.latest.keras (with optimizer state); the
resolved configuration is saved as <model>.json.  Re-running the same
command resumes from the latest checkpoint (--no-resume starts over).
Generation continues --num_streams seed windows taken from the validation
tails, one network step per sample (--method stateful) or the original
full-window recomputation (--method sliding).
"""
import argparse
from pathlib import Path

from audiornn.AudioRNNData import MU_VARIANTS, PREEMPHASIS, find_wavs
from audiornn.checkpoint import DEFAULT_AUDIO, DEFAULT_MODEL, check_trained
from dsp.audio import InputError, check_output, cli_main, notice
from dsp.distribute import add_distribute_args, worker_of_tf_config
from dsp.presets import load_preset, parse_args

PRESET_DIR = Path(__file__).resolve().parent / "presets"


def build_parser():
    """The parser without --preset (parse_arguments adds it and applies the preset)."""
    p = argparse.ArgumentParser(prog="python -m audiornn.AudioRNN",
                                description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("-d", "--data_dir", default=None,
      help="folder of wav files (recursive); generation defaults to the training one")
    a("-sr", "--samplerate", type=int, default=8000, help="sample rate in Hz (default 8000)")
    a("-t", "--train", action="store_true", help="train (resumes from <model>.latest.keras if present)")
    a("-g", "--generate", action="store_true", help="generate audio with the best checkpoint")
    a("-m", "--model", default=DEFAULT_MODEL,
      help="best checkpoint (.keras); log, latest checkpoint, configuration and code cache sit "
           f"next to it (default {DEFAULT_MODEL})")
    a("-a", "--audio", default=DEFAULT_AUDIO,
      help=f"generated wav; streams > 1: <stem>_<k>.wav (default {DEFAULT_AUDIO})")
    a("--seed", type=int, default=0, help="random seed (default 0)")
    a("--resume", action=argparse.BooleanOptionalAction, default=True,
      help="continue from <model>.latest.keras if present (--no-resume starts over)")
    # The preset's settings: their defaults below are those of presets/default.json.
    a("-ts", "--timesteps", type=int, help="window length T in samples (preset; default %(default)s)")
    a("-n", "--neurons", type=int, help="Dense/GRU width (preset; default %(default)s)")
    a("-b", "--batchsize", type=int, help="windows per update (preset; default %(default)s)")
    a("-e", "--epochs", type=int, help="total epochs (preset; default %(default)s)")
    a("--accumulate", type=int,
      help="feed each batch as this many micro-batches, accumulating gradients: less memory "
           "(preset; default %(default)s)")
    a("--steps_per_epoch", type=int,
      help="updates per epoch; null in a preset = one pass over all windows (preset; default %(default)s)")
    a("--val_windows", type=int,
      help="validation windows evaluated per epoch, evenly spread (preset; default %(default)s)")
    a("--learning_rate", type=float, help="RMSprop learning rate (preset; default %(default)s)")
    a("-gl", "--genlength", type=float, help="seconds to generate per stream (preset; default %(default)s)")
    a("--num_streams", type=int, help="independent streams generated at once (preset; default %(default)s)")
    a("--temperature", type=float,
      help="0 = greedy argmax (the original); > 0 samples (preset; default %(default)s)")
    p.set_defaults(**load_preset(PRESET_DIR, "default"))
    a("--val_fraction", type=float, default=0.1, help="held-out tail of every file (default 0.1)")
    a("--method", choices=("stateful", "sliding"), default="stateful",
      help="stateful: one step per sample; sliding: the original full-window recomputation")
    a("--mu", type=int, default=255, choices=MU_VARIANTS, help="mu-law variant (256 = the original's)")
    a("--preemphasis", type=float, default=PREEMPHASIS, help="pre-emphasis coefficient (default 0.95)")
    a("--cache", default=None, help="code cache (.npz); default <model>.codes.npz")
    add_distribute_args(p)  # training only (-t)
    return p


def parse_arguments(argv=None):
    """Parse the command line with --preset applied (a partial preset file layers over default)."""
    return parse_args(build_parser(), PRESET_DIR, argv, default="default")


def check_args(args):
    """InputError on settings that cannot work (before any data is read)."""
    if not (args.train or args.generate):
        raise InputError("nothing to do: pass -t/--train and/or -g/--generate")
    for name in ("epochs", "batchsize", "timesteps", "neurons", "num_streams", "samplerate"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.accumulate < 1 or args.batchsize % args.accumulate:
        raise InputError(f"--accumulate must be >= 1 and divide -b {args.batchsize}, "
                         f"got {args.accumulate}")
    if args.steps_per_epoch is not None and args.steps_per_epoch < 1:
        raise InputError(f"--steps_per_epoch must be >= 1, got {args.steps_per_epoch}")
    if not 0.0 < args.val_fraction < 1.0:
        raise InputError(f"--val_fraction must be in (0, 1), got {args.val_fraction}")
    if args.temperature < 0 or args.genlength <= 0:
        raise InputError("--temperature must be >= 0 and --genlength > 0")


def _is_chief(args):
    """False on a non-chief worker of a ``--distribute multi_worker`` run (worker index from TF_CONFIG)."""
    if getattr(args, "distribute", "none") != "multi_worker":
        return True
    return worker_of_tf_config()[0] == 0


@cli_main
def main(argv=None):
    args = parse_arguments(argv)
    check_args(args)
    if args.train:
        if not args.data_dir:
            raise InputError("training needs -d/--data_dir")
        find_wavs(args.data_dir)  # fail fast on a bad folder
        Path(args.model).parent.mkdir(parents=True, exist_ok=True)
        check_output(args.model)  # and on an unwritable model folder
    elif args.generate:
        check_trained(args.model)
    # Lazy: Keras (and TensorFlow) load only after the input checks above, so that bad
    # input fails within a second on one line, and --help is fast.
    if args.train:
        from audiornn.training import train
        train(args)
    if args.generate and args.train and not _is_chief(args):
        notice("generation is left to the chief worker (worker 0)")
    elif args.generate:
        from audiornn.generation import generate  # TensorFlow-only
        generate(args)


if __name__ == "__main__":
    main()
