"""ResGAN networks (resgan.models, root models.py): shapes, parameter counts, spectral
layer, additivity, save/load, checkpoints of the previous layout."""
import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import models as root_models
from resgan import models

DATA = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def nets():
    keras.utils.set_random_seed(0)
    return {"pulse": models.build_pulse_model(context_len=3),
            "generator": models.build_generator(),
            "discriminator": models.build_discriminator()}


def test_parameter_counts_match_the_paper_architecture(nets):
    # GRU(50) on 22 inputs with Keras 3 defaults (reset_after): 3 * (22*50 + 50*50 + 2*50)
    gru = 3 * (22 * 50 + 50 * 50 + 2 * 50)
    conv_mid = 15 * 100 * 100 + 100
    pulse = gru + (50 * 400 + 400) + 4 * 400 + (15 * 100 + 100) + 3 * conv_mid + 4 * 4 * 100 + (15 * 100 + 1)
    assert nets["pulse"].count_params() == pulse == 488101
    gen = (15 * 2 * 100 + 100) + 2 * (15 * 101 * 100 + 100) + 3 * 4 * 100 + (15 * 101 + 1)
    assert nets["generator"].count_params() == gen == 309016
    assert nets["discriminator"].count_params() == 454721


def test_output_shapes(nets):
    x = np.zeros((5, 3, 22), np.float32)
    out = nets["pulse"](x)
    assert out["wave"].shape == (5, 400) and out["spec"].shape == (5, 400)
    p = np.zeros((5, 400), np.float32)
    g = nets["generator"]([p, p])
    assert all(g[k].shape == (5, 400) for k in ("wave", "spec", "residual"))
    d = nets["discriminator"]([p, p])
    assert d["score"].shape == (5, 1)
    assert d["peek"].shape == (5, 12, 256)


def test_spectral_view_matches_numpy_reference():
    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal((4, 400))).astype(np.float32)
    x[0] = 0.0  # exercises the 1e-9 power floor
    got = keras.ops.convert_to_numpy(models.SpectralView()(x))
    # independent reference: explicit DFT matrix instead of rfft
    n = np.arange(798)
    dft = np.exp(-2j * np.pi * np.outer(np.arange(400), n) / 798)
    xp = np.concatenate([x.astype(np.float64), np.zeros((4, 398))], axis=1)
    power = np.maximum(np.abs(xp @ dft.T) ** 2 / 798, 1e-9)
    want = (20 / 90 * np.log10(power) + 1) * 0.1
    np.testing.assert_allclose(got, want, atol=2e-5)
    np.testing.assert_allclose(got[0], (20 / 90 * -9 + 1) * 0.1, atol=1e-6)


def test_generator_is_additive(nets):
    rng = np.random.default_rng(2)
    pulse = (0.2 * rng.standard_normal((3, 400))).astype(np.float32)
    z = rng.standard_normal((3, 400)).astype(np.float32)
    out = {k: keras.ops.convert_to_numpy(v) for k, v in nets["generator"]([pulse, z]).items()}
    np.testing.assert_allclose(out["wave"] - pulse, out["residual"], atol=1e-6)
    assert np.all(np.abs(out["residual"]) < 1.0)  # tanh
    assert np.std(out["residual"]) > 1e-4       # and not trivially zero


def test_edge_window():
    w = models.edge_window()
    assert w.shape == (400,) and w[0] == 0 and w[-1] == 0
    assert np.all(w[21:-21] == 1) and np.all(np.diff(w[:22]) > 0)
    np.testing.assert_allclose(w, w[::-1])


def test_pulse_model_starts_as_zero_predictor_with_fixed_output_gain():
    keras.utils.set_random_seed(4)
    x = np.random.default_rng(4).standard_normal((6, 1, 22)).astype(np.float32)
    scaled = models.build_pulse_model(context_len=1)
    plain = models.build_pulse_model(context_len=1, output_gain=1.0)
    assert scaled.count_params() == plain.count_params() == 488101  # a weight-free gain
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(scaled(x)["wave"]), 0.0)
    # same weights, non-zero final convolution: outputs differ exactly by the gain
    kernel = np.random.default_rng(5).normal(0, 0.01, (15, 100, 1)).astype(np.float32)
    plain.set_weights(scaled.get_weights())
    for m in (scaled, plain):
        m.get_layer("out_conv").kernel.assign(kernel)
    a = keras.ops.convert_to_numpy(scaled(x, training=False)["wave"])
    b = keras.ops.convert_to_numpy(plain(x, training=False)["wave"])
    assert np.std(b) > 1e-4
    np.testing.assert_allclose(a, models.PULSE_RMS * b, rtol=1e-5, atol=1e-8)
    assert models.PULSE_RMS == pytest.approx(1 / 20)


def test_keras_save_load_round_trip(nets, tmp_path):
    rng = np.random.default_rng(3)
    out_conv = nets["pulse"].get_layer("out_conv")  # zero at init: make the check non-trivial
    out_conv.kernel.assign(rng.normal(0, 0.05, out_conv.kernel.shape).astype(np.float32))
    x = rng.standard_normal((4, 3, 22)).astype(np.float32)
    p = (0.1 * rng.standard_normal((4, 400))).astype(np.float32)
    cases = {"pulse": (x,), "generator": ([p, p],), "discriminator": ([p, p],)}
    for name, args in cases.items():
        path = tmp_path / f"{name}.keras"
        nets[name].save(path)
        loaded = keras.models.load_model(path)
        a = nets[name](*args, training=False)
        b = loaded(*args, training=False)
        for key in a:
            np.testing.assert_allclose(keras.ops.convert_to_numpy(a[key]),
                                       keras.ops.convert_to_numpy(b[key]), atol=1e-6)


def test_root_models_reexports_the_package_networks():
    for name in ("SpectralView", "FixedGain", "ExpandChannel", "SqueezeChannel", "SpectralMSE",
                 "build_pulse_model", "build_generator", "build_discriminator", "edge_window"):
        assert getattr(root_models, name) is getattr(models, name)


def test_registered_names_are_those_of_the_previous_layout():
    for cls in (models.SpectralView, models.ExpandChannel, models.SqueezeChannel, models.FixedGain,
                models.SpectralMSE):
        assert keras.saving.get_registered_name(cls) == f"resgan>{cls.__name__}"


# the fixture was compiled but never trained: Keras notes that its optimizer has no state to load
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_checkpoint_written_by_the_previous_layout_loads():
    """tests/resgan/fixtures/old_layout_layers.keras was saved by the root-module layout
    (module "models", before the resgan package): every registered layer and the
    registered loss, compiled, as in pulse_backup.keras, which resuming loads compiled
    (the full networks, uncompiled: tests/test_legacy_checkpoints.py). Made at commit
    7d6f582 with the root models.py: Input(400) -> FixedGain(0.5) -> ExpandChannel ->
    Conv1D(1, 3) -> SqueezeChannel -> {"wave", "spec": SpectralView}, compiled with
    Adam and {"wave": "mse", "spec": SpectralMSE()}; the .npz holds its outputs on x.
    It loads, and computes what it computed then."""
    path = DATA / "old_layout_layers.keras"
    with zipfile.ZipFile(path) as z:
        config = z.read("config.json").decode()
    assert '"module": "models"' in config and "resgan>SpectralView" in config
    expect = np.load(DATA / "old_layout_layers.npz")
    model = keras.models.load_model(path)
    out = model(expect["x"], training=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out["wave"]), expect["wave"], atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out["spec"]), expect["spec"], atol=1e-6)
    assert isinstance(model.get_layer("spec"), models.SpectralView)
    assert isinstance(model.loss["spec"], models.SpectralMSE)
    assert json.loads(config)["class_name"] == "Functional"


def test_pitch_windows_are_the_windows_the_packaging_cut_the_pulses_with():
    """models.pitch_windows from normalised inputs == packaging's Hann windows: half-width
    round(16000 / F0) (at most 199) in voiced frames, 200 in unvoiced ones."""
    from resgan.packaging import _hann_weights

    f0 = np.array([100.0, 123.4, 250.0, 70.0, 55.0, 120.0])
    voiced = np.array([1, 1, 1, 1, 1, 0], np.float32)
    raw = np.zeros((len(f0), 22), np.float32)
    raw[:, 20], raw[:, 21] = np.log(f0), voiced
    means, stds = np.full(22, 0.3, np.float32), np.full(22, 2.0, np.float32)
    windows = keras.ops.convert_to_numpy(models.pitch_windows((raw - means) / stds, means, stds))
    half = np.where(voiced > 0.5, np.minimum(np.round(16000 / f0), 199), 200).astype(np.int64)
    assert list(half) == [160, 130, 64, 199, 199, 200]
    np.testing.assert_allclose(windows, _hann_weights(half), atol=1e-5)


def test_a_pitch_window_generator_confines_its_noise_to_the_window():
    gen = models.build_generator(filters=8, pitch_window=True)
    assert models.uses_pitch_window(gen) and not models.uses_pitch_window(models.build_generator(filters=8))
    rng = np.random.default_rng(0)
    pulse = rng.standard_normal((2, 400)).astype(np.float32)
    window = np.zeros((2, 400), np.float32)
    window[:, 150:250] = 1.0
    out = gen([pulse, rng.standard_normal((2, 400)).astype(np.float32), window])
    residual = keras.ops.convert_to_numpy(out["wave"]) - pulse
    assert np.abs(residual[:, :150]).max() < 1e-6 and np.abs(residual[:, 150:250]).max() > 1e-6


def test_utterance_noise_repeats_one_vector_frame_noise_draws_anew():
    """PulseGenerator: with noise="utterance" identical frames get identical GAN pulses
    (one noise vector per call), with "frame" they differ; a new call draws a new vector."""
    from resgan.evaluation import PulseGenerator

    pulse_model = models.build_pulse_model(filters=8)
    gen = models.build_generator(filters=8)
    x = np.repeat(np.random.default_rng(0).standard_normal((1, 1, 22)).astype(np.float32), 3, axis=0)
    per_utt = PulseGenerator(pulse_model, gen, seed=0, noise="utterance")
    _, a = per_utt(x)
    _, b = per_utt(x)
    np.testing.assert_allclose(a[0], a[2], atol=1e-6)
    assert not np.allclose(a[0], b[0], atol=1e-6)
    _, c = PulseGenerator(pulse_model, gen, seed=0, noise="frame")(x)
    assert not np.allclose(c[0], c[2], atol=1e-6)
    with pytest.raises(ValueError, match="noise must be one of"):
        PulseGenerator(pulse_model, gen, noise="sample")
