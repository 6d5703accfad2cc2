#!/usr/bin/env python
"""ResGAN: train the pulse model and the GAN noise model, generate, evaluate.

    python train.py --mode train [--preset quick|paper]   # stage 1 then stage 2
    python train.py --mode train_pulse_model   # stage 1: least-squares pulse model
    python train.py --mode train_noise_model   # stage 2: GAN (pulse model frozen; TensorFlow only)
    python train.py --mode generate            # <out_dir>/<tag>.pls, .pls_nonoise
    python train.py --mode evaluate            # one JSON line of metrics (packaged test set)
    python train.py --mode evaluate --model_dir pretrained/resgan --wav_dir DIR [--skip_bad]
                                               # the same for recordings it never saw

``--distribute mirrored|multi_worker`` trains data-parallel with tf.distribute
(``--batch_size`` is the global batch; ``python -m tools.launch --workers N -- python
train.py ...`` for several processes), ``--mixed_precision`` in float16/bfloat16.

``--preset`` (resgan/presets/quick.json by default, or paper.json, or a path
to a .json file) sets the defaults of the flags below; flags given here win.
Training resumes from the last finished epoch when re-run (``--no-resume`` to
start over) and saves its resolved configuration beside every checkpoint.
The code: resgan/config.py (flags), resgan/training.py (stages), resgan/gan.py
(the GAN step), resgan/evaluation.py (generation, metrics), models.py (networks).
"""
import sys
from pathlib import Path

from dsp.audio import check_output, cli_main
from resgan.config import parse_args
from resgan.constants import FRAME_HOP, SAMPLE_RATE


@cli_main
def main(argv=None):
    args = parse_args(argv)
    out = {"generate": args.out_dir, "evaluate": None}.get(args.mode, args.model_dir)
    if out is not None:  # an unwritable output folder stops the run before Keras loads
        Path(out).mkdir(parents=True, exist_ok=True)
        check_output(Path(out) / "x")
    # Keras loads here, after parsing: --help and bad flags answer without its ~5 s import
    import keras

    from corpus.readers import list_wavs
    from resgan import evaluation, training
    from resgan.model_folder import load_model_folder
    from resgan.recordings import analyze_recordings
    from resgan.recording_evaluation import evaluate_recordings

    keras.utils.set_random_seed(args.seed)
    if args.mode in ("train", "train_pulse_model", "train_noise_model"):
        training.train(args, pulse=args.mode != "train_noise_model", noise=args.mode != "train_pulse_model")
    if args.mode == "generate":
        n, frames, secs = evaluation.generate(args.testdata_dir, args.out_dir, args.model_dir,
                                              args.rnn_context_len, args.seed)
        audio_s = frames * FRAME_HOP / SAMPLE_RATE
        print(f"generated {n} utterances ({frames} frames, {audio_s:.1f} s of speech) in "
              f"{secs:.1f} s ({audio_s / max(secs, 1e-9):.1f}x real time) -> {args.out_dir}")
    if args.mode == "evaluate" and args.wav_dir:  # recordings the model never saw
        folder = load_model_folder(args.model_dir, args.data_dir)
        recordings = analyze_recordings(list_wavs(args.wav_dir), args.skip_bad)
        figure = Path(args.figures_dir) / "resgan_heldout_pulses.png"
        evaluation.print_json(evaluate_recordings(folder, recordings, args.seed, figure=figure,
                                                       noise=args.gan_noise))
    elif args.mode == "evaluate":
        evaluation.print_json(evaluation.evaluate(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
