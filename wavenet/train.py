"""Train the WaveNet vocoder (log-mel -> waveform): ``python -m wavenet.train``.

A preset (``--preset default|paper`` or a .json path; files in ``wavenet/presets/``)
sets the model; every flag given on the command line overrides it. An interrupted
run resumes from ``OUT_DIR/ckpt/latest.keras`` (``--no-resume`` starts over; the
checkpoint's model configuration wins over the flags). The resolved flags are saved
as ``OUT_DIR/config.json`` and inside every checkpoint's JSON. See `wavenet.training`
for what the run writes.

Examples:
    python -m wavenet.train --epochs 20 --steps_per_epoch 100          # synthetic corpus
    python -m wavenet.train --data_dir LJSpeech-1.1 --preset paper --out_dir models/wavenet_lj
    python -m wavenet.train --data_dir asterisk16k ljspeech_sample --sample_rate 16000 --mel_fmax 7600
    python -m wavenet.train --data_dir LJSpeech-1.1 --noise_shaping --out_dir models/wavenet_ns   # LPC residual
"""
import argparse
import sys

from dsp.audio import InputError, cli_main
from dsp.distribute import add_distribute_args
from dsp.presets import parse_args
from wavenet import PRESET_DIR

POSITIVE = ("epochs", "steps_per_epoch", "batch_size", "window_frames", "sample_frames", "val_batches")
FROM_PRESET = "(default: the preset's value)"


def build_parser():
    """The command's flags (``--preset`` is added by `dsp.presets.parse_args`)."""
    p = argparse.ArgumentParser(prog="python -m wavenet.train",
                                description="Train the WaveNet vocoder (mel -> waveform).",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data_dir", nargs="+", default=None,
                   help="speech folders (LJSpeech layout, or every .wav/.flac below); default: a synthetic corpus")
    p.add_argument("--synth_minutes", type=float, default=3.0,
                   help="size of the synthetic corpus made when --data_dir is not given")
    p.add_argument("--out_dir", default="models/wavenet", help="run folder: checkpoints, log, samples")
    p.add_argument("--final", default=None, help="where to write the trained vocoder (default: OUT_DIR/vocoder.keras)")
    m = p.add_argument_group("model (each overrides the preset)")
    m.add_argument("--output", default=None, help=f"output distribution: mulaw256 or mol {FROM_PRESET}")
    m.add_argument("--n_mixtures", type=int, default=None, help=f"logistic components of --output mol {FROM_PRESET}")
    m.add_argument("--upsample", default=None, help=f"conditioning upsampler: transposed or repeat {FROM_PRESET}")
    m.add_argument("--upsample_scales", type=int, nargs="+", default=None,
                   help=f"transposed-conv strides, product = hop 256 {FROM_PRESET}")
    m.add_argument("--sample_rate", type=int, default=None, help=f"Hz; audio is resampled to it {FROM_PRESET}")
    m.add_argument("--hop", type=int, default=None, help=f"samples per mel frame {FROM_PRESET}")
    m.add_argument("--n_fft", type=int, default=None, help=f"mel analysis FFT size {FROM_PRESET}")
    m.add_argument("--mel_fmin", type=float, default=None, help=f"lowest mel band edge, Hz {FROM_PRESET}")
    m.add_argument("--mel_fmax", type=float, default=None, help=f"highest mel band edge, Hz {FROM_PRESET}")
    m.add_argument("--n_layers", type=int, default=None, help=FROM_PRESET)
    m.add_argument("--n_stacks", type=int, default=None, help=FROM_PRESET)
    m.add_argument("--kernel_size", type=int, default=None, help=FROM_PRESET)
    m.add_argument("--residual_channels", type=int, default=None, help=FROM_PRESET)
    m.add_argument("--gate_channels", type=int, default=None,
                   help="default: the preset's value, else 2 x residual_channels")
    m.add_argument("--skip_channels", type=int, default=None,
                   help="default: the preset's value, else residual_channels")
    m.add_argument("--n_speakers", type=int, default=None,
                   help="global conditioning table size (>= the speakers found by --speaker_regex); 0 = none")
    m.add_argument("--global_channels", type=int, default=None, help=f"speaker embedding width {FROM_PRESET}")
    m.add_argument("--noise_shaping", action=argparse.BooleanOptionalAction, default=None,
                   help="model the LPC residual: input and target whitened by an all-pole fit to each mel "
                        f"frame, generation filtered back through it (wavenet.noise_shaping) {FROM_PRESET}")
    m.add_argument("--lpc_order", type=int, default=None, help=f"order of the noise-shaping LPC {FROM_PRESET}")
    m.add_argument("--lpc_gamma", type=float, default=None,
                   help=f"its bandwidth expansion a_k *= gamma^k, in (0, 1] {FROM_PRESET}")
    m.add_argument("--frame_layers", type=int, default=None,
                   help="convolutions of a frame-rate conditioning network beside the mel (0: none); with "
                        f"--init_from a vocoder without one, it is added {FROM_PRESET}")
    m.add_argument("--frame_channels", type=int, default=None, help=f"their width {FROM_PRESET}")
    m.add_argument("--frame_kernel", type=int, default=None, help=f"their kernel over frames, odd {FROM_PRESET}")
    m.add_argument("--speaker_regex", default=None,
                   help="global conditioning: regex on file stems whose group 1 names the speaker "
                        "(e.g. '^syn_(spk\\d+)_')")
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--steps_per_epoch", type=int, default=100)
    t.add_argument("--batch_size", type=int, default=4)
    t.add_argument("--window_frames", type=int, default=8, help="mel frames per training window (x hop samples)")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--lr_halve_every", type=int, default=0,
                   help="halve the learning rate every N optimizer steps (0: constant, as r9y9 #65 advises early on)")
    t.add_argument("--ema", type=float, default=0.0,
                   help="exponential moving average of the weights with this momentum (e.g. 0.999; 0: off); "
                        "checkpoints and samples then also use OUT_DIR/ckpt/ema.keras, "
                        "the final vocoder is the average")
    t.add_argument("--input_noise", type=float, default=0.0,
                   help="µ-law vocoders: move the teacher-forced input samples by up to about this many µ-law "
                        "steps (noise level drawn per window; targets stay clean), so the network learns to "
                        "follow its own imperfect past (LPCNet's noise injection); 0: off")
    t.add_argument("--max_files", type=int, default=None, help="use only the first N files of each folder")
    t.add_argument("--val_fraction", type=float, default=0.05,
                   help="files of each folder held out for validation (0: none); the split is saved as "
                        "OUT_DIR/split.json and reused on resume")
    t.add_argument("--val_batches", type=int, default=8,
                   help="fixed validation batches scored after every epoch (val_loss in log.csv)")
    t.add_argument("--sample_every", type=int, default=5,
                   help="epochs between audio samples/figures (0: only at the end)")
    t.add_argument("--sample_frames", type=int, default=40, help="mel frames vocoded for each sample")
    t.add_argument("--max_minutes", type=float, default=None,
                   help="stop after the epoch that exceeds this training time")
    t.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from OUT_DIR/ckpt/latest.keras if present (--no-resume: start over)")
    t.add_argument("--init_from", default=None,
                   help="start a new run from the weights of this vocoder (e.g. pretrained/wavenet/vocoder.keras; "
                        "its config and epoch count carry over); ignored when OUT_DIR has a checkpoint to resume")
    t.add_argument("--warm_steps", type=int, default=100,
                   help="with --init_from: batches (at most --steps_per_epoch) over which Adam's moments "
                        "are estimated at learning rate 0")
    t.add_argument("--seed", type=int, default=0)
    add_distribute_args(p)
    return p


@cli_main
def main(argv=None):
    args = parse_args(build_parser(), PRESET_DIR, argv, default="default")
    for name in POSITIVE:
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if not 0.0 <= args.ema < 1.0:
        raise InputError(f"--ema must be in [0, 1), got {args.ema}")
    if args.input_noise < 0:
        raise InputError(f"--input_noise must be >= 0, got {args.input_noise}")
    if args.warm_steps < 0:
        raise InputError(f"--warm_steps must be >= 0, got {args.warm_steps}")
    if args.lr_halve_every < 0:
        raise InputError(f"--lr_halve_every must be >= 0, got {args.lr_halve_every}")
    if args.lpc_order is not None and args.lpc_order < 1:
        raise InputError(f"--lpc_order must be >= 1, got {args.lpc_order}")
    if args.lpc_gamma is not None and not 0.0 < args.lpc_gamma <= 1.0:
        raise InputError(f"--lpc_gamma must be in (0, 1], got {args.lpc_gamma}")
    if not 0.0 <= args.val_fraction < 1.0:
        raise InputError(f"--val_fraction must be in [0, 1), got {args.val_fraction}")
    # Keras loads here, not at the top: --help and flag errors answer at once instead of after ~5 s.
    from wavenet.training import train
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
