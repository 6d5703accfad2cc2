"""Score a generator (or a folder of clips) as the WaveGAN and TiFGAN papers do.

    python -m wavegan.evaluate --model_dir pretrained/wavegan --real_dir data/wavegan/fsdd \
        [--n 1000] [--classifier pretrained/digit_classifier] [--seed 0] [--inversion pghi]

``--real_inversion specgan|tifgan`` scores instead the real held-out clips
taken through that model's features and back by ``--inversion``: what the
inversion alone costs, the ceiling of a spectrogram GAN (``--model_dir`` then
not needed).

``--model_dir`` is a generator folder (``generator.keras`` + ``config.json``,
sampled through `wavegan.generate`) or any folder of audio files (e.g. the
clips ``python -m wavegan.generate`` wrote, or real recordings), read at the
classifier's rate and padded or cut at the end to its length as in
`wavegan.data`. ``--real_dir`` is a `wavegan.data` folder: its test part (the
speaker neither the classifier nor the GANs saw) is the real reference, its
training part the memorisation check.

The last line printed is one JSON object:

    inception_score, inception_score_std   the clips' IS over 10 splits (`wavegan.metrics`)
    real_inception_score (+ _std)          the real held-out clips' IS: the ceiling
    classifier_accuracy                    the classifier on the real held-out clips
    label_entropy, conditional_entropy     of the clips' p(y) and p(y|x), nats (max ln 10)
    label_histogram                        clips per digit (argmax)
    nn_self, nn_train                      D_self and D_train on log-mel features
    real_nn_self, real_nn_train            the same for the real held-out clips (reference)
    consistency, real_consistency          spectrogram models only: TiFGAN's measure of the
                                           generated log-magnitudes and of real FSDD ones on
                                           the same grid
"""
import argparse
import json
from pathlib import Path

import numpy as np

from corpus.readers import list_wavs
from dsp.audio import InputError, cli_main, load_audio, notice
from wavegan import generate, metrics, spectrograms
from wavegan.classifier import load_classifier, predict_proba
from wavegan.data import fit_length, load_split
from wavegan.models import sample_latent

DEFAULT_CLASSIFIER = "pretrained/digit_classifier"
LOG_FLOOR = -10.0  # natural-log floor relative to each clip's maximum (TiFGAN's clipping)


def is_generator_dir(path):
    """True when `path` holds a trained generator (generator.keras and config.json)."""
    path = Path(path)
    return (path / "generator.keras").is_file() and (path / "config.json").is_file()


def read_clip_folder(folder, sr, length, n=None, skip_bad=False):
    """Audio files of a folder as float32 [n, length] (resampled, padded/cut at the end).

    Args:
        folder: a folder of audio files (searched recursively, sorted by name).
        sr: int, the rate to read at.
        length: int, samples per clip (`wavegan.data.fit_length`, align "start").
        n: int or None, read at most the first n files.
        skip_bad: bool, warn about unreadable files and go on.
    Returns:
        float32 [clips, length].
    """
    paths = list_wavs(folder)[:n] if n else list_wavs(folder)
    clips = []
    for path in paths:
        try:
            clips.append(fit_length(load_audio(path, sr=sr)[0], length))
        except InputError as exc:
            if not skip_bad:
                raise
            notice(f"skipped: {exc}")
    if len(clips) < 2:
        raise InputError(f"{folder}: need at least 2 readable clips, found {len(clips)}")
    return np.stack(clips)


def log_magnitudes(audio_or_outputs, kind, config=None):
    """Natural-log magnitudes [n, 128, 128] on the SpecGAN/TiFGAN grid, floored at -10 below each max.

    Args:
        audio_or_outputs: float32 [n, samples] audio, or a generator's images
            [n, 128, 128(, 1)] when `config` is given.
        kind: "specgan" or "tifgan".
        config: the generator's configuration (SpecGAN's normalisation statistics), or None
            for audio.
    """
    if config is None:
        mag = spectrograms.magnitude(audio_or_outputs, kind)
    else:
        stats = spectrograms.config_stats(config)
        images = np.asarray(audio_or_outputs, dtype=np.float32).reshape(-1, 128, 128)
        mag = spectrograms.to_magnitude(images, kind, stats)
    mag = np.asarray(mag, dtype=np.float64)
    peak = np.maximum(mag.max(axis=(1, 2), keepdims=True), 1e-30)
    return np.maximum(np.log(np.maximum(mag / peak, 1e-30)), LOG_FLOOR)


def sample_generator(model_dir, n, seed, inversion):
    """(audio float32 [n, samples], raw outputs, config) of a generator folder."""
    model, config = generate.load_generator(model_dir)
    z = sample_latent(np.random.default_rng(seed), int(n), int(config.get("latent_dim", 100)))
    outputs = generate.generate_outputs(model, z)
    audio = generate.outputs_to_audio(outputs, config, inversion, seed)
    return audio, outputs, config


def invert_real(real_audio, train_audio, kind, inversion=None, seed=0, n_iter=100):
    """Real clips through a spectrogram GAN's features and back: the inversion loss alone.

    Args:
        real_audio: float32 [n, 8192], the clips.
        train_audio: float32 [m, 8192], the training clips (SpecGAN's normalisation statistics,
            TiFGAN's reference peak).
        kind: "specgan" or "tifgan".
        inversion: "griffinlim" or "pghi" (default "pghi").
        seed: seed of the inversion's random phases.
        n_iter: Griffin-Lim iterations (the CPU presets' gl_iters).
    Returns:
        float32 [n, 8192].
    """
    train_audio = fit_length_batch(train_audio, spectrograms.LENGTH)
    stats = (spectrograms.specgan_stats(train_audio) if kind == "specgan"
             else spectrograms.tifgan_peak(train_audio))
    features = spectrograms.to_features(fit_length_batch(real_audio, spectrograms.LENGTH), kind, stats)
    return spectrograms.invert_batch(features, kind, stats, inversion or "pghi", n_iter, seed)


def score_clips(probs, features, train_features, splits=10):
    """The classifier-based and nearest-neighbour scores of one set of clips.

    Args:
        probs: float [n, 10], the classifier's p(y|x).
        features: float [n, dim], `metrics.nn_features` of the clips.
        train_features: float [m, dim], the same of the training clips.
        splits: int, inception-score splits.
    Returns:
        dict with inception_score, inception_score_std, label_entropy,
        conditional_entropy, label_histogram, nn_self, nn_train.
    """
    # real clips come sorted by digit, a folder's files by name: split a fixed shuffle
    score, std = metrics.inception_score(probs, splits, shuffle_seed=0)
    nn_self, nn_train = metrics.nearest_neighbour_distances(features, train_features)
    return {"inception_score": score, "inception_score_std": std,
            "label_entropy": metrics.label_entropy(probs),
            "conditional_entropy": metrics.conditional_entropy(probs),
            "label_histogram": metrics.label_histogram(probs).tolist(),
            "nn_self": nn_self, "nn_train": nn_train}


def evaluate(model_dir, real_dir, classifier_path=DEFAULT_CLASSIFIER, n=1000, seed=0,
             inversion=None, splits=10, skip_bad=False, real_inversion=None):
    """All scores of a generator or clip folder against the real held-out clips.

    Args:
        model_dir: generator folder or folder of audio files.
        real_dir: a `wavegan.data` folder (train and test parts).
        classifier_path: folder or file of the digit classifier.
        n: int, clips to generate (or the first n files of a folder).
        seed: int, the latent seed.
        inversion: None or "griffinlim" / "pghi" (spectrogram models).
        splits: int, inception-score splits.
        skip_bad: bool, skip unreadable files of a clip folder.
        real_inversion: None, or "specgan" / "tifgan": score the real held-out clips after
            that model's features and `inversion` instead of `model_dir`.
    Returns:
        dict, the JSON line (see the module docstring).
    """
    classifier = load_classifier(classifier_path)
    length = int(classifier.inputs[0].shape[1])
    sr = int(classifier.get_layer("logmel").sr)
    train_audio, _ = load_split(real_dir, "train")
    real_audio, real_labels = load_split(real_dir, "test")
    config = None
    if real_inversion:
        # a fixed random subset: the clips are sorted by digit
        pick = np.sort(np.random.default_rng(0).permutation(len(real_audio))[:n])
        audio = invert_real(real_audio[pick], train_audio, real_inversion, inversion, seed)
        model_dir = f"real held-out clips through {real_inversion} + {inversion or 'pghi'}"
    elif is_generator_dir(model_dir):
        audio, outputs, config = sample_generator(model_dir, n, seed, inversion)
    else:
        if not Path(model_dir).is_dir():
            raise InputError(f"{model_dir}: not a folder (a generator or audio files)")
        audio = read_clip_folder(model_dir, sr, length, n, skip_bad)
    train_features = metrics.nn_features(fit_length_batch(train_audio, length), sr)
    real_probs = predict_proba(classifier, real_audio)
    real = score_clips(real_probs, metrics.nn_features(fit_length_batch(real_audio, length), sr),
                       train_features, splits)
    result = score_clips(predict_proba(classifier, audio),
                         metrics.nn_features(fit_length_batch(audio, length), sr),
                         train_features, splits)
    result.update({"n": int(len(audio)), "model_dir": str(model_dir),
                   "model": config["model"] if config else (
                       f"real_{real_inversion}" if real_inversion else "audio_folder"),
                   "real_inception_score": real["inception_score"],
                   "real_inception_score_std": real["inception_score_std"],
                   "classifier_accuracy": float(np.mean(np.argmax(real_probs, 1) == real_labels)),
                   "real_label_entropy": real["label_entropy"],
                   "real_nn_self": real["nn_self"], "real_nn_train": real["nn_train"]})
    if config is not None and config["model"] in ("specgan", "tifgan"):
        kind = config["model"]
        result["consistency"] = float(np.mean(metrics.consistency(
            log_magnitudes(outputs, kind, config))))
        result["real_consistency"] = float(np.mean(metrics.consistency(
            log_magnitudes(real_audio, kind))))
    return result


def fit_length_batch(audio, length):
    """float32 [n, time] padded with zeros or cut at the end to [n, length]."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.shape[1] < length:
        return np.pad(audio, [(0, 0), (0, length - audio.shape[1])])
    return audio[:, :length]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m wavegan.evaluate",
        description="Inception score, label entropy, nearest-neighbour distances and (spectrogram "
                    "models) consistency of a generator or a folder of clips; one JSON line last.")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--model_dir",
                        help="generator folder (generator.keras + config.json) or folder of audio")
    target.add_argument("--real_inversion", choices=("specgan", "tifgan"),
                        help="score the real held-out clips after this model's features and "
                             "--inversion (the inversion's loss alone)")
    parser.add_argument("--real_dir", required=True, help="a python -m wavegan.data output folder")
    add_scoring_args(parser, n=1000)
    parser.add_argument("--skip_bad", action="store_true",
                        help="audio folders: warn about unreadable files and go on")
    return parser


def add_scoring_args(parser, n):
    """The options of every inception-score command (evaluate, curve): classifier, clips, seed,
    inversion, splits; ``n`` is the default number of clips."""
    parser.add_argument("--classifier", default=DEFAULT_CLASSIFIER,
                        help=f"digit classifier folder or .keras file (default {DEFAULT_CLASSIFIER})")
    parser.add_argument("--n", type=int, default=n, help="clips to generate / read")
    parser.add_argument("--seed", type=int, default=0, help="latent seed")
    parser.add_argument("--inversion", choices=("griffinlim", "pghi"), default=None,
                        help="spectrogram models: phase reconstruction (default: the model's)")
    parser.add_argument("--splits", type=int, default=10, help="inception-score splits")


def check_scoring_args(args):
    """InputError unless there are enough clips and splits to score."""
    if args.n < 2 or args.splits < 1:
        raise InputError("--n must be at least 2 and --splits at least 1")


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    check_scoring_args(args)
    result = evaluate(args.model_dir, args.real_dir, args.classifier, args.n, args.seed,
                      args.inversion, args.splits, args.skip_bad, args.real_inversion)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
