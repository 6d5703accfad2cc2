"""Checkpoints written by the layout before issue 17 still load and compute the same.

The files in tests/fixtures/legacy_layout were saved by the old module paths (root
`models.py`, the WaveNet in `separation/`); `expected_outputs.npz` holds their
outputs on fixed inputs. Keras finds custom classes by their registered names
("resgan>", "audiosynth.wavenet>", "separation>", "cnnvocoder>"), so moving the
code must keep those names: renaming one fails here.
"""
from pathlib import Path

import keras
import numpy as np
import pytest

import audiornn.model  # noqa: F401  (the AudioRNN network: plain Keras layers)
import resgan.models  # noqa: F401  (registers the ResGAN layers)
import separation.denoising_wavenet  # noqa: F401  (registers B2's layers)
import separation.encoder  # noqa: F401  (registers the encoder's layers)
from cnnvocoder.inversion import load_vocoder as load_cnn_vocoder
from wavenet.model import load_vocoder

LEGACY = Path(__file__).resolve().parent / "fixtures" / "legacy_layout"


@pytest.fixture(scope="module")
def expected():
    with np.load(LEGACY / "expected_outputs.npz") as data:
        return dict(data)


def _load(name):
    return keras.saving.load_model(LEGACY / name, compile=False)


def _close(actual, wanted):
    np.testing.assert_allclose(np.asarray(actual), wanted, rtol=1e-4, atol=1e-5)


def test_resgan_pulse_model_generator_discriminator(expected):
    pulse = _load("resgan_pulse_model.keras")
    y = pulse.predict(expected["resgan_pulse_x"], verbose=0)
    _close(y["wave"], expected["resgan_pulse_y_wave"])
    assert np.abs(expected["resgan_pulse_y_wave"]).max() > 0  # a real output, not zeros
    gen = _load("resgan_generator.keras")
    y = gen.predict({k: expected[f"resgan_gen_x_{k}"] for k in ("pulse", "z")}, verbose=0)
    _close(y["wave"], expected["resgan_gen_y_wave"])
    disc = _load("resgan_discriminator.keras")
    y = disc.predict({k: expected[f"resgan_disc_x_{k}"] for k in ("wave", "spec")}, verbose=0)
    _close(y["score"], expected["resgan_disc_y_score"])


@pytest.mark.parametrize("name", ["wavenet_vocoder.keras", "wavenet_vocoder_mol.keras"])
def test_wavenet_vocoder_loads_with_its_config(name, expected):
    model, cfg = load_vocoder(LEGACY / name)
    assert cfg.n_mels == 8 and cfg.hop == 16
    if name == "wavenet_vocoder.keras":
        y = model.predict({"audio": expected["wavenet_x_audio"],
                           "mel": expected["wavenet_x_mel"]}, verbose=0)
        _close(y, expected["wavenet_y"])


@pytest.mark.parametrize("kind", ["proposed", "b1"])
def test_separation_encoders(kind, expected):
    model = _load(f"separation_encoder_{kind}.keras")
    y = model.predict({"linear": expected[f"enc_{kind}_x0"], "mel": expected[f"enc_{kind}_x1"]},
                      verbose=0)
    _close(y, expected[f"enc_{kind}_y"])


def test_separation_b2(expected):
    model = _load("separation_b2.keras")
    _close(model.predict(expected["b2_x"], verbose=0)["speech"], expected["b2_y_speech"])


def test_cnn_vocoder(expected):
    model, config = load_cnn_vocoder(LEGACY / "cnnvocoder_model.keras")
    assert config["n_heads"] == 2
    _close(model.predict(expected["cnn_x"], verbose=0), expected["cnn_y"])


def test_audiornn(expected):
    model = _load("audiornn_model.keras")
    _close(model.predict(expected["rnn_x"], verbose=0), expected["rnn_y"])
