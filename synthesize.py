#!/usr/bin/env python
"""ResGAN pulses -> audible 16 kHz speech (PSOLA + all-pole filter + de-emphasis).

Test set (after ``train.py --mode generate``): for every test utterance,
three excitations side by side::

    python synthesize.py --pls_dir output --testdata_dir testdata --out_dir output/wav
    -> output/wav/<tag>_impulse.wav  (impulse train: the paper's baseline)
       output/wav/<tag>_pulse.wav    (pulse model, <tag>.pls_nonoise)
       output/wav/<tag>_gan.wav      (pulse model + GAN, <tag>.pls)

Copy-synthesis of any recording from its MFCCs, F0 and voicing only::

    python synthesize.py --input_file speech.wav --out_dir output/copy
    -> <name>_impulse.wav, <name>_residual.wav (the recording's own residual
       pulses: the best this vocoder can do), and, when trained models are in
       --model_dir, <name>_pulse.wav and <name>_gan.wav.

A spectrogram figure of the first utterance goes to --figures_dir. The code is
resgan/synthesis.py; Keras is loaded only for copy-synthesis with trained models.
"""
import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from dsp.audio import InputError, check_output, cli_main, load_audio, write_wav
from resgan import figures
from resgan import synthesis as rs
from resgan.constants import N_MFCC, SAMPLE_RATE
from resgan.netcdf import iterate_files, list_data_files, norm_stats
from resgan.packaging import analyze_utterance

SR = SAMPLE_RATE
MIN_SAMPLES = 512  # copy-synthesis input: one window of the figure's spectrogram (32 ms)


def build_parser():
    p = argparse.ArgumentParser(prog="synthesize.py", description=__doc__.split("\n")[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--input_file", help="copy-synthesis of this recording (any rate, mono)")
    p.add_argument("--pls_dir", default="./output", help="<tag>.pls / .pls_nonoise files")
    p.add_argument("--testdata_dir", default="./testdata", help="test data.nc1 ... files")
    p.add_argument("--data_dir", default="./traindata",
                   help="training data (normalisation statistics for copy-synthesis)")
    p.add_argument("--model_dir", default="./models", help="trained models (copy-synthesis)")
    p.add_argument("--wav_dir", default="./data/synthetic/wav",
                   help="original recordings <tag>.wav (figure only)")
    p.add_argument("--out_dir", default="./output/wav")
    p.add_argument("--figures_dir", default="./figures")
    p.add_argument("--max_utts", type=int, default=None, help="synthesise only N utterances")
    p.add_argument("--rnn_context_len", type=int, default=1, help="as in training")
    p.add_argument("--seed", type=int, default=0)
    return p


def _write(path, x):
    x, scale = rs.limit_peak(x)
    if scale < 1.0:
        print(f"  {path.name}: scaled by {scale:.2f} to avoid clipping", file=sys.stderr)
    write_wav(path, x, SR)


def _read_pls_pair(pls_dir, tag, n_frames):
    """``{"pulse": [n, 400], "gan": [n, 400]}`` of an utterance, checked against its features."""
    pls = {}
    for name, suffix in (("pulse", ".pls_nonoise"), ("gan", ".pls")):
        path = Path(pls_dir) / f"{tag}{suffix}"
        if not path.is_file():
            raise InputError(f"{path}: missing (run train.py --mode generate first)")
        pls[name] = rs.read_pls(path)
        if len(pls[name]) != n_frames:
            raise InputError(f"{path}: {len(pls[name])} frames, features have {n_frames}")
    return pls


def synthesize_test_set(args):
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = 0
    for data in iterate_files(list_data_files(args.testdata_dir)):
        for tag, inputs, _ in tqdm(list(data.utterances()), desc="synthesize", unit="utt"):
            if args.max_utts is not None and done >= args.max_utts:
                return done
            pls = _read_pls_pair(args.pls_dir, tag, len(inputs))
            mfcc, f0, voiced = rs.split_features(inputs, data.input_means, data.input_stdevs)
            speech = {"impulse": rs.synthesize(rs.impulse_pulses(len(mfcc)), mfcc, f0, voiced,
                                               seed=args.seed)}
            for name in ("pulse", "gan"):
                speech[name] = rs.synthesize(pls[name], mfcc, f0, voiced, seed=args.seed)
            dest = out_dir / tag
            dest.parent.mkdir(parents=True, exist_ok=True)
            for name, x in speech.items():
                _write(dest.with_name(f"{dest.name}_{name}.wav"), x)
            if done == 0:
                _figure(args, tag, speech)
            done += 1
    return done


def _figure(args, tag, speech):
    signals = {}
    original = rs.find_recording(args.wav_dir, tag)
    if original is not None:
        signals["original"] = load_audio(original, sr=SR)[0]
    signals.update({f"excitation: {k}": v for k, v in speech.items()})
    figures.plot_speech(Path(args.figures_dir) / "resgan_synthesis.png", signals,
                        title=f"{tag}: original and MFCC-based resynthesis")


def _model_pulses(args, inputs):
    """Pulse-model and GAN pulses for raw (not normalised) inputs ``[n, 22]``."""
    # Keras (~5 s) loads only here, when trained models are there to use
    from resgan.dataset import expand_context
    from resgan.evaluation import load_models

    stats = norm_stats(list_data_files(args.data_dir)[0])
    norm = (inputs - stats["input_means"]) / stats["input_stdevs"]
    ctx = expand_context(norm, [len(norm)], args.rnn_context_len)
    return load_models(args.model_dir, args.seed)(ctx)


def copy_synthesis(args):
    path = Path(args.input_file)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_output(out_dir / f"{path.stem}_impulse.wav")  # before any work
    x, _ = load_audio(path, sr=SR, min_samples=MIN_SAMPLES)
    feats = analyze_utterance(x, SR)
    mfcc = feats.inputs[:, :N_MFCC]
    excitations = {"impulse": rs.impulse_pulses(len(mfcc)), "residual": feats.targets}
    model_dir = Path(args.model_dir)
    if (model_dir / "pulse_model.keras").is_file() and (model_dir / "generator.keras").is_file():
        pulse, gan = _model_pulses(args, feats.inputs)
        excitations.update(pulse=pulse, gan=gan)
    else:
        print(f"note: no trained models in {model_dir}: impulse and residual excitations only",
              file=sys.stderr)
    speech = {}
    for name, pulses in excitations.items():
        speech[name] = rs.synthesize(pulses, mfcc, feats.f0, feats.voiced, seed=args.seed)[:len(x)]
        _write(out_dir / f"{path.stem}_{name}.wav", speech[name])
    signals = {"original": x, **{f"excitation: {k}": v for k, v in speech.items()}}
    figures.plot_speech(Path(args.figures_dir) / f"resgan_copy_{path.stem}.png", signals,
                        title=f"{path.name}: copy-synthesis from MFCC, F0, voicing")
    print(f"wrote {', '.join(f'{path.stem}_{k}.wav' for k in speech)} to {out_dir}")


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.input_file:
        copy_synthesis(args)
    else:
        n = synthesize_test_set(args)
        print(f"synthesised {n} utterances x 3 excitations -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
