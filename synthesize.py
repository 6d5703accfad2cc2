#!/usr/bin/env python
"""ResGAN pulses -> audible 16 kHz speech (PSOLA + all-pole filter + de-emphasis).

Test set (after ``train.py --mode generate``): for every test utterance,
three excitations side by side::

    python synthesize.py --pls_dir output --testdata_dir testdata --out_dir output/wav
    -> output/wav/<tag>_impulse.wav  (impulse train: the paper's baseline)
       output/wav/<tag>_pulse.wav    (pulse model, <tag>.pls_nonoise)
       output/wav/<tag>_gan.wav      (pulse model + GAN, <tag>.pls)

Copy-synthesis of any recordings from their MFCCs, F0 and voicing only::

    python synthesize.py --model_dir pretrained/resgan --input_file speech.wav --out_dir D
    python synthesize.py --model_dir pretrained/resgan --input_dir wavs/ --out_dir D [--skip_bad]
    -> D/<name>_impulse.wav, <name>_residual.wav (the recording's own residual
       pulses: the best this vocoder can do), <name>_pulse.wav and <name>_gan.wav
       (when --model_dir holds trained models), <name>_spectrograms.png.

Any rate and channel count (resampled to 16 kHz, downmixed); the inputs are
normalised with the model folder's stats.json. Every recording is checked
before anything is written: a silent, too short, clipped or non-speech one
stops the run with one line naming it (--skip_bad: a warning, the rest go on).
The test set's spectrogram figure goes to --figures_dir. The code is
resgan/synthesis.py and resgan/recordings.py; Keras is loaded only for
copy-synthesis with trained models.
"""
import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from dsp.audio import InputError, check_output, cli_main, load_audio, write_wav
from resgan import figures
from resgan import synthesis as rs
from resgan.constants import MODEL_FILES, SAMPLE_RATE
from resgan.netcdf import iterate_files, list_data_files
from resgan.recordings import analyze_recordings, recording_paths, resynthesize

SR = SAMPLE_RATE


def build_parser():
    p = argparse.ArgumentParser(prog="synthesize.py", description=__doc__.split("\n")[1],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input_file", help="copy-synthesis of this recording (any rate and channels)")
    src.add_argument("--input_dir", help="copy-synthesis of every .wav/.flac in this folder (recursive)")
    p.add_argument("--gan_noise", choices=("frame", "utterance"), default="utterance",
                   help="copy-synthesis: the GAN's noise, one vector per recording (quasi-periodic "
                        "excitation; chosen on validation) or a new one every frame (as in training)")
    p.add_argument("--skip_bad", action="store_true",
                   help="copy-synthesis: skip unusable recordings (silent, too short, clipped, "
                        "not speech) with a warning")
    p.add_argument("--pls_dir", default="./output", help="<tag>.pls / .pls_nonoise files")
    p.add_argument("--testdata_dir", default="./testdata", help="test data.nc1 ... files")
    p.add_argument("--data_dir", default="./traindata",
                   help="training data: the normalisation statistics of a model folder without "
                        "stats.json (copy-synthesis)")
    p.add_argument("--model_dir", default="./models",
                   help="trained model folder (copy-synthesis), e.g. pretrained/resgan")
    p.add_argument("--wav_dir", default="./data/synthetic/wav",
                   help="original recordings <tag>.wav (figure only)")
    p.add_argument("--out_dir", default="./output/wav")
    p.add_argument("--figures_dir", default="./figures")
    p.add_argument("--max_utts", type=int, default=None, help="synthesise only N utterances")
    p.add_argument("--rnn_context_len", type=int, default=1,
                   help="as in training (test set only; copy-synthesis reads it from the model)")
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


def _copy_excitations(args, recording, folder, generator):
    """Speech of one recording: ``{excitation: [samples]}``."""
    if folder is None:  # no trained models: the two excitations that need none
        feats = recording.features
        return resynthesize(recording, {"impulse": rs.impulse_pulses(len(feats.inputs)),
                                        "residual": feats.targets}, args.seed)
    # Keras (~5 s) loads only when trained models are there to use
    from resgan.recording_evaluation import copy_synthesis as model_copy_synthesis

    return model_copy_synthesis(folder, recording, args.seed, generator)[0]


def copy_synthesis(args):
    """``--input_file`` / ``--input_dir``: every recording analysed (and checked) first,
    then ``<out_dir>/<name>_{impulse,pulse,gan,residual}.wav`` and ``<name>_spectrograms.png``."""
    paths = recording_paths(args.input_file, args.input_dir)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_output(out_dir / "x.wav")  # before any work
    recordings = analyze_recordings(paths, args.skip_bad)
    model_dir = Path(args.model_dir)
    folder = generator = None
    if any((model_dir / name).exists() for name in MODEL_FILES):
        from resgan.evaluation import PulseGenerator
        from resgan.model_folder import load_model_folder

        folder = load_model_folder(model_dir, args.data_dir)
        generator = PulseGenerator(folder.pulse_model, folder.generator, args.seed,
                                   input_stats=folder.stats.input_stats, noise=args.gan_noise)
    else:
        print(f"note: no trained models in {model_dir}: impulse and residual excitations only",
              file=sys.stderr)
    names = [r.path.stem for r in recordings]
    if len(set(names)) < len(names):  # the same name in two sub-folders
        names = [str(r.path.relative_to(args.input_dir).with_suffix("")).replace("/", "_")
                 if args.input_dir else r.path.stem for r in recordings]
    for name, rec in tqdm(list(zip(names, recordings)), desc="synthesize", unit="file",
                          disable=len(recordings) < 2):
        speech = _copy_excitations(args, rec, folder, generator)
        for excitation, x in speech.items():
            _write(out_dir / f"{name}_{excitation}.wav", x)
        signals = {"original": rec.audio, **{f"excitation: {k}": v for k, v in speech.items()}}
        figures.plot_speech(out_dir / f"{name}_spectrograms.png", signals,
                            title=f"{rec.path.name}: copy-synthesis from MFCC, F0, voicing")
    print(f"wrote {len(recordings)} recording(s) x {', '.join(speech)} to {out_dir}")


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.input_file or args.input_dir:
        copy_synthesis(args)
    else:
        n = synthesize_test_set(args)
        print(f"synthesised {n} utterances x 3 excitations -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
