"""The shipped GANs (pretrained/wavegan, pretrained/specgan, pretrained/tifgan) load, generate
8 kHz digits, and the shipped digit classifier hears digits in them: the inception score of 60
clips is far above an untrained generator's (1.0) and above 2."""
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLASSIFIER = ROOT / "pretrained" / "digit_classifier"
SHIPPED = ("wavegan", "specgan", "tifgan")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_folder_is_complete_and_small(name):
    folder = ROOT / "pretrained" / name
    for file in ("generator.keras", "config.json", "log.csv", "command.sh", "README.md"):
        assert (folder / file).is_file(), file
    assert sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) < 20e6
    config = json.loads((folder / "config.json").read_text())
    assert config["model"] == name
    if name == "specgan":
        assert len(config["spec_mean"]) == 128


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_generator_makes_digits_the_classifier_recognises(name):
    from wavegan import generate, metrics
    from wavegan.classifier import load_classifier, predict_proba

    model, config = generate.load_generator(ROOT / "pretrained" / name)
    audio = generate.sample(model, config, 60, seed=0)
    again = generate.sample(model, config, 2, seed=0)
    assert audio.shape == (60, 8192) and np.all(np.isfinite(audio))
    np.testing.assert_allclose(again, audio[:2], atol=1e-5)          # seeded: reproducible
    assert np.all(np.sqrt(np.mean(audio ** 2, axis=1)) > 1e-3)       # no silent clips
    probs = predict_proba(load_classifier(CLASSIFIER), audio)
    score, _ = metrics.inception_score(probs, splits=1)
    assert score > 2.0, score
    assert metrics.label_entropy(probs) > 1.5                        # not one digit only
