"""wavegan.classifier: the log-mel CNN learns, round-trips, and the shipped one classifies FSDD."""
import os
from pathlib import Path

import numpy as np

from wavegan.data import fit_length, parse_name

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED = ROOT / "pretrained" / "digit_classifier"


def _tones(n_per_class, length, rng):
    """Two classes: noisy tones around 300 Hz (class 0) or 1500 Hz (class 1), 8 kHz."""
    t = np.arange(length) / 8000
    audio, labels = [], []
    for label, base in enumerate((300.0, 1500.0)):
        for _ in range(n_per_class):
            f = base * rng.uniform(0.9, 1.1)
            x = np.sin(2 * np.pi * f * t) + 0.1 * rng.standard_normal(length)
            audio.append(rng.uniform(0.1, 0.5) * x)
            labels.append(label)
    return np.asarray(audio, np.float32), np.asarray(labels)


def test_classifier_learns_two_tones_and_round_trips(tmp_path):
    import keras

    from wavegan.classifier import build_classifier, embedding_model, load_classifier, predict_proba

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = _tones(12, 2048, rng)
    model = build_classifier(length=2048, n_fft=256, hop_length=128, n_mels=32, filters=4,
                             blocks=2, dropout=0.1)
    assert model.output_shape == (None, 10)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=12, verbose=0, shuffle=True)   # after the trace, epochs are cheap
    xt, yt = _tones(10, 2048, np.random.default_rng(1))
    probs = predict_proba(model, xt)
    assert probs.shape == (20, 10) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    assert np.mean(np.argmax(probs, axis=1) == yt) > 0.75   # chance: 0.5
    model.save(tmp_path / "classifier.keras")
    again = load_classifier(tmp_path)
    np.testing.assert_allclose(predict_proba(again, xt), probs, atol=1e-5)
    assert embedding_model(again)(xt[:2]).shape[0] == 2
    assert predict_proba(again, xt[:, :1000]).shape == (20, 10)   # short clips are padded


def _fsdd_test_clips(split):
    """Five clips of the test speaker of the shipped split, when the real data is there."""
    root = os.environ.get("AUDIOSYNTH_REALDATA")
    if not root:
        return None
    folder = Path(root) / "fsdd_8k"
    speaker = split["parts"]["test"]["speakers"][0]
    return [folder / f"{digit}_{speaker}_{3}.wav" for digit in (0, 2, 4, 7, 9)]


def test_pretrained_classifier_on_unseen_speaker():
    import json

    from dsp.audio import load_audio
    from wavegan.classifier import load_classifier, predict_proba

    assert (PRETRAINED / "classifier.keras").is_file(), "pretrained/digit_classifier is shipped"
    model = load_classifier(PRETRAINED)
    length = model.inputs[0].shape[1]
    results = json.loads((PRETRAINED / "results.json").read_text())
    assert results["test_accuracy"] > 0.8
    split = {"parts": {"test": {"speakers": results["test_speakers"]}}}
    paths = _fsdd_test_clips(split)
    if paths is None:   # no real data here: at least one inference on a synthetic clip
        clip = 0.1 * np.sin(2 * np.pi * 200 * np.arange(length) / 8000).astype(np.float32)
        probs = predict_proba(model, clip[None])
        assert probs.shape == (1, 10) and abs(probs.sum() - 1) < 1e-4
        return
    audio = np.stack([fit_length(load_audio(p, sr=8000)[0], length) for p in paths])
    predicted = np.argmax(predict_proba(model, audio), axis=1)
    truth = [parse_name(p)[0] for p in paths]
    assert np.sum(predicted == truth) >= 4, (predicted, truth)
