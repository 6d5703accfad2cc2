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
Generation continues --num_streams seed windows taken from the held-out
data (--start data), starts from silence (--start silence, or a model whose
data is not here), or continues a recording (--prime FILE), one network step
per sample (--method stateful) or the original full-window recomputation
(--method sliding).
"""
import argparse
from pathlib import Path

from audiornn.AudioRNNData import MU_VARIANTS, PREEMPHASIS, find_wavs, prime_codes
from audiornn.checkpoint import DEFAULT_AUDIO, DEFAULT_MODEL, check_trained, model_paths, read_config
from dsp.audio import InputError, check_output, cli_main, notice
from dsp.distribute import add_distribute_args, worker_of_tf_config
from dsp.presets import given_flags, load_preset, parse_args

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
    a("--lr_halve_every", type=int,
      help="halve the learning rate every N updates; null = constant (preset; default %(default)s)")
    a("--bn_recalibration", type=int,
      help="after each epoch, set BatchNorm's moving statistics to the mean over this many "
           "training batches before validation (precise BN); 0 = off (preset; default %(default)s)")
    a("--targets", choices=("last", "all"),
      help="last: one target per window (the original); all: a target after every step, "
           "T - warmup per window (preset; default %(default)s)")
    a("--warmup", type=int,
      help="with --targets all: first steps of a window left out of the loss (preset; default %(default)s)")
    a("--input_noise", type=int,
      help="training: move each input code by a random integer in [-k, k], targets clean "
           "(LPCNet's noise injection against drift in free-running generation; preset; "
           "default %(default)s)")
    a("-gl", "--genlength", type=float, help="seconds to generate per stream (preset; default %(default)s)")
    a("--num_streams", type=int, help="independent streams generated at once (preset; default %(default)s)")
    a("--temperature", type=float,
      help="0 = greedy argmax (the original); > 0 samples (preset; default %(default)s)")
    p.set_defaults(**load_preset(PRESET_DIR, "default"))
    a("--val_dir", default=None,
      help="folder of held-out recordings for validation (and generation's seed windows); "
           "default: the last --val_fraction of every training file")
    a("--val_fraction", type=float, default=0.1,
      help="held-out tail of every file, without --val_dir (default 0.1)")
    a("--prime", default=None,
      help="generation continues this recording (any rate or channels; resampled), written before "
           "the continuation so the hand-over is heard")
    a("--start", choices=("data", "silence"), default="data",
      help="without --prime: continue held-out windows of the training data (the original), or "
           "start from silence; a model whose data is not here starts from silence")
    a("--dc_block", type=float, default=40.0,
      help="cut-off (Hz) of the DC blocker (dsp.filters.dc_block) after de-emphasis of generated "
           "audio; 0 = none (default 40)")
    a("--method", choices=("stateful", "sliding"), default="stateful",
      help="stateful: one step per sample; sliding: the original full-window recomputation")
    a("--mu", type=int, default=255, choices=MU_VARIANTS, help="mu-law variant (256 = the original's)")
    a("--preemphasis", type=float, default=PREEMPHASIS, help="pre-emphasis coefficient (default 0.95)")
    a("--cache", default=None, help="code cache (.npz); default <model>.codes.npz")
    add_distribute_args(p)  # training only (-t)
    return p


GENERATION_SETTINGS = ("genlength", "num_streams", "temperature")


def parse_arguments(argv=None):
    """Parse the command line with --preset applied (a partial preset file layers over default).

    Generating without training and without --preset: the generation settings
    not given on the command line are those saved with the model, so a model
    generates as it was meant to (e.g. a shipped one).
    """
    args = parse_args(build_parser(), PRESET_DIR, argv, default="default")
    if args.generate and not args.train:
        given = given_flags(build_parser(), argv)
        if "preset" not in given and model_paths(args.model)["config"].exists():
            saved = read_config(args.model)
            for key in GENERATION_SETTINGS:
                if key not in given and key in saved:
                    setattr(args, key, saved[key])
    return args


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
    if args.targets == "all" and not 0 <= args.warmup < args.timesteps:
        raise InputError(f"--warmup must be in [0, -ts {args.timesteps}), got {args.warmup}")
    if args.bn_recalibration < 0:
        raise InputError(f"--bn_recalibration must be >= 0, got {args.bn_recalibration}")
    if args.lr_halve_every is not None and args.lr_halve_every < 1:
        raise InputError(f"--lr_halve_every must be >= 1, got {args.lr_halve_every}")
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
        if args.val_dir:
            find_wavs(args.val_dir)
        Path(args.model).parent.mkdir(parents=True, exist_ok=True)
        check_output(args.model)  # and on an unwritable model folder
    elif args.generate:
        check_trained(args.model)
    if args.generate and args.prime and not args.train:  # after training, the config is new
        config = check_trained(args.model)
        prime_codes(args.prime, config["timesteps"], config["samplerate"], config["mu"],
                    config["preemphasis"])
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
