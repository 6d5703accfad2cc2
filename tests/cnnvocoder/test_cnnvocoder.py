"""CNN vocoder: layers, model geometry, loss terms, PGHI, inversion interface."""
import keras
import numpy as np
import pytest

from cnnvocoder.config import make_config
from cnnvocoder.features import compute_features, spec_to_magnitude
from cnnvocoder.inference import FastVocoder
from cnnvocoder.inversion import invert
from cnnvocoder.layers import LinearUpsample1D
from cnnvocoder.losses import SpectralLoss, loss_terms
from cnnvocoder.model import build_model, upsampling_factor
from dsp.pghi import declip, pghi
from dsp.audio import InputError
from dsp.backend import BackendError
from dsp.metrics import spectral_convergence
from dsp.spectral import istft, stft

SR = 22050
TINY = dict(prenet_channels=[2, 2], upsample_channels=[4] * 8, postnet_blocks=1,
            postnet_channels=4)


def tiny_model(**kw):
    keras.utils.set_random_seed(0)
    return build_model(**{**TINY, **kw})


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


def test_default_upsampling_is_hop():
    cfg = make_config()
    assert upsampling_factor(cfg) == cfg["hop_length"] == 256


@pytest.mark.parametrize("inp, bins", [("linear", 1025), ("mel", 80)])
def test_output_length_is_frames_times_hop(inp, bins):
    model = tiny_model(input=inp)
    for frames in (1, 5, 12):
        y = model(np.random.rand(2, frames, bins).astype("float32"), training=False)
        assert tuple(y.shape) == (2, frames * 256)
        y = np.asarray(y)
        assert np.all(np.abs(y) < 1)  # softsign output


def _np_linear_upsample(x, k):
    """Half-pixel-centre linear interpolation along axis 1 (edges clamped)."""
    t = x.shape[1]
    pos = np.clip((np.arange(t * k) + 0.5) / k - 0.5, 0, t - 1)
    out = np.empty((x.shape[0], t * k, x.shape[2]))
    for b in range(x.shape[0]):
        for c in range(x.shape[2]):
            out[b, :, c] = np.interp(pos, np.arange(t), x[b, :, c])
    return out


@pytest.mark.parametrize("k", [2, 3, 4])
def test_linear_upsample_matches_numpy(k):
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    y = np.asarray(LinearUpsample1D(k)(x))
    np.testing.assert_allclose(y, _np_linear_upsample(x, k), atol=1e-5)
    # not nearest neighbour: interior outputs differ from repeated samples
    assert not np.allclose(y, np.repeat(x, k, axis=1))


def test_loss_terms_match_numpy():
    rng = np.random.default_rng(1)
    n = 4096
    t = np.arange(n) / SR
    y_true = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.normal(size=(2, n))).astype("float32")
    y_pred = (0.3 * np.sin(2 * np.pi * 470 * t + 1) + 0.05 * rng.normal(size=(2, n))).astype("float32")
    got = {k: float(v) for k, v in loss_terms(y_true, y_pred).items()}

    def mag(x):  # zero-pad 1024 each side, Hann 1024 in FFT 2048, hop 256
        xp = np.pad(x.astype(np.float64), [(0, 0), (1024, 1024)])
        return np.abs(stft(xp, 2048, 256, 1024, center=False))

    mt, mp = mag(y_true), mag(y_pred)
    assert mt.shape == (2, 1 + n // 256, 1025)
    ld = np.abs(np.log(mp + 1e-5) - np.log(mt + 1e-5))
    ref = {
        "log_mag_all": ld.mean(),
        "log_mag_low": ld[..., :500].mean(),
        "lin_mag_low": np.abs(mp - mt)[..., :500].mean(),
        "spectral_convergence": np.mean(np.linalg.norm(mt - mp, axis=(1, 2))
                                        / np.linalg.norm(mt, axis=(1, 2))),
    }
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, rel=2e-3), key
    total = float(SpectralLoss(sc_weight=0.5)(y_true, y_pred))
    assert total == pytest.approx(ref["log_mag_all"] + ref["log_mag_low"] + ref["lin_mag_low"]
                                  + 0.5 * ref["spectral_convergence"], rel=2e-3)
    assert float(SpectralLoss()(y_true, y_true)) < 1e-3


def _stft_mag(x):
    return np.abs(stft(x, 2048, 256, 1024))


def _fade(x, n=2048):
    """Raised-cosine fade in/out: abrupt edges are not a property of the method."""
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    x = x.copy()
    x[:n] *= ramp
    x[-n:] *= ramp[::-1]
    return x


def _pghi_sc(x):
    x = _fade(x)
    mag = _stft_mag(x)
    y = pghi(mag, 256, 2048, 1024, length=len(x))
    sc = spectral_convergence(mag, _stft_mag(y))
    y0 = istft(mag.astype(complex), 256, 1024, 2048, length=len(x))  # zero-phase baseline
    return sc, spectral_convergence(mag, _stft_mag(y0))


def test_pghi_recovers_chirp():
    t = np.arange(SR) / SR
    x = 0.5 * np.sin(2 * np.pi * (200 * t + 0.5 * 3000 * t ** 2))
    sc, sc_zero = _pghi_sc(x)
    assert sc < 0.03
    assert sc < sc_zero / 5


def test_pghi_recovers_harmonic_tone():
    t = np.arange(SR) / SR
    f0 = 140 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    ph = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(0.3 / k * np.sin(k * ph + k) for k in range(1, 25))
    sc, sc_zero = _pghi_sc(x)
    assert sc < 0.05
    assert sc < sc_zero / 5


def test_keras_round_trip(tmp_path):
    model = tiny_model(n_heads=2, scaled_softsign=True, upsample_channels=[4, 4])
    x = np.random.default_rng(2).random((1, 6, 1025)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)),
                               np.asarray(model(x, training=False)), atol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers].count("LinearUpsample1D") == 4


def _speechlike(seconds=0.5):
    t = np.arange(int(SR * seconds)) / SR
    ph = 2 * np.pi * np.cumsum(120 + 20 * t) / SR
    return (sum(0.2 / k * np.sin(k * ph) for k in range(1, 30)) * np.hanning(len(t))).astype(np.float32)


def test_invert_all_methods_shapes(tiny):
    x = _speechlike()
    spec, mel = compute_features(x, make_config())
    assert spec.shape == (1 + len(x) // 256, 1025) and mel.shape == (spec.shape[0], 80)
    n = (spec.shape[0] - 1) * 256
    for method in ("griffinlim", "pghi"):
        y = invert(spec, method, n_iter=2)
        assert y.shape == (n,) and y.dtype == np.float32 and np.all(np.isfinite(y))
    y = invert(spec, "cnn", model=tiny)
    assert y.shape == (spec.shape[0] * 256,)


def _test_signal(kind):
    """1 s chirp (200 -> 3200 Hz) or harmonic tone (24 harmonics of a vibrato 140 Hz), faded,
    quiet enough that no bin exceeds the normalised spectrogram's 0 dB (|X| = 10: no clipping)."""
    t = np.arange(SR) / SR
    if kind == "chirp":
        x = 0.05 * np.sin(2 * np.pi * (200 * t + 0.5 * 3000 * t ** 2))
    else:
        ph = 2 * np.pi * np.cumsum(140 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / SR
        x = sum(0.03 / k * np.sin(k * ph + k) for k in range(1, 25))
    return _fade(x).astype(np.float32)


@pytest.mark.parametrize("kind", ["chirp", "harmonic"])
def test_griffinlim_and_pghi_beat_zero_and_random_phase_starts(kind):
    """Through invert() from the normalised dB spectrogram: the spectral convergence of the
    re-analysed output against the magnitude asked for is at least 5x (Griffin-Lim, 32
    iterations) and 10x (PGHI) smaller than that of the same magnitude with a random phase
    (SC ~0.7) or with zero phase (SC ~1.0); PGHI + 12 FGLA iterations is at least 1.5x
    better again than PGHI alone (both signals have a known phase: the chirp's, and the
    harmonic tone's phases k for harmonic k)."""
    config = make_config()
    spec, _ = compute_features(_test_signal(kind), config)
    assert spec.max() < 1.0  # unclipped
    target = spec_to_magnitude(spec, config)
    n = (len(spec) - 1) * 256

    def sc(y):
        assert y.shape == (n,) and y.dtype == np.float32
        return spectral_convergence(target, _stft_mag(y))

    phase = np.exp(2j * np.pi * np.random.default_rng(0).random(target.shape))
    random_start = sc(istft(target * phase, 256, 1024, 2048, length=n).astype(np.float32))
    zero_start = sc(istft(target.astype(complex), 256, 1024, 2048, length=n).astype(np.float32))
    gl, pg = sc(invert(spec, "griffinlim", n_iter=32)), sc(invert(spec, "pghi"))
    fgla = sc(invert(spec, "pghi_fgla", refine_iter=12))
    print(f"{kind}: spectral convergence random phase {random_start:.3f}, zero phase "
          f"{zero_start:.3f}, Griffin-Lim {gl:.3f}, PGHI {pg:.4f}, PGHI+FGLA {fgla:.4f}")
    assert random_start > 0.5 and zero_start > 0.5
    for start in (random_start, zero_start):
        assert gl < start / 5
        assert pg < start / 10 and pg < 0.05
    assert fgla < pg / 1.5


@pytest.mark.parametrize("bad, msg", [
    (np.random.rand(10, 513), "513 bins"),
    (np.random.rand(1025, 10), "transpose"),
    (np.full((10, 1025), np.nan), "NaN"),
    (np.zeros((0, 1025)), "empty"),
    (np.random.rand(1025), "2-D"),
    (np.random.rand(10, 1025) * 3, "outside [0, 1]"),
])
def test_invert_rejects_bad_spectrograms(bad, msg, tiny):
    for method in ("pghi", "cnn"):
        with pytest.raises(InputError, match=msg.replace("[", r"\[").replace("]", r"\]")):
            invert(bad, method, model=tiny if method == "cnn" else None)


def test_invert_rejects_unknown_method_and_missing_model():
    spec = np.random.rand(4, 1025)
    with pytest.raises(InputError, match="unknown inversion method"):
        invert(spec, "wavenet")
    with pytest.raises(InputError, match="needs a model"):
        invert(spec, "cnn")


def _randomise_batchnorm(model, seed=0):
    """Non-trivial BN statistics, so that folding them is actually tested."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.2, n).astype("float32"))
            layer.moving_mean.assign(rng.normal(0, 0.3, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.3, 2.0, n).astype("float32"))


@pytest.mark.parametrize("kw", [{}, dict(n_heads=2, scaled_softsign=True),
                                dict(input="mel", prenet_channels=[3, 3, 2])])
def test_fast_vocoder_matches_keras_model(kw):
    """BN folding, the matrix-product-then-interpolate upsampling and the
    chunking with halos give the keras model's output (inference mode)."""
    model = tiny_model(**kw)
    _randomise_batchnorm(model)
    bins = int(model.input_shape[-1])
    x = np.random.default_rng(1).random((23, bins)).astype("float32")
    ref = np.asarray(model(x[None], training=False))[0]
    # short chunks with halos (the first case also goes through invert())
    y = FastVocoder(model, prenet_chunk=4, head_chunk=5)(x)
    assert y.shape == ref.shape == (23 * 256,)
    np.testing.assert_allclose(y, ref, atol=2e-5)
    if not kw:
        y = invert(x, "cnn", model=model)  # whole utterance in one call
        np.testing.assert_allclose(y, ref, atol=2e-5)


def test_fast_vocoder_compiled_path_needs_tensorflow(tiny, monkeypatch):
    """compile=True is TensorFlow-only (clear error elsewhere); the default falls
    back to eager keras.ops on other backends, with the same output."""
    x = np.random.default_rng(3).random((9, 1025)).astype("float32")
    ref = FastVocoder(tiny, compile=False)(x)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(BackendError, match="TensorFlow backend"):
        FastVocoder(tiny, compile=True)
    np.testing.assert_allclose(FastVocoder(tiny)(x), ref, atol=1e-6)


def test_declip_restores_a_clipped_sinusoid_peak():
    t = np.arange(SR // 2) / SR
    x = 0.1 * np.sin(2 * np.pi * 1001.3 * t)  # peak |X| ~ 25.6: 8 dB over a ceiling of 10
    mag = _stft_mag(x)[4:-4]
    ceiling = 10.0
    clipped = np.minimum(mag, ceiling)
    out, n = declip(clipped, 1024, 2048)
    assert n > 3 * mag.shape[0]  # several clipped bins per frame
    true_db = 20 * np.log10(mag.max(axis=1))
    got_db = 20 * np.log10(out.max(axis=1))
    assert np.all(np.abs(got_db - true_db) < 0.5)  # 8 dB above the ceiling, recovered
    np.testing.assert_array_equal(out.argmax(axis=1), mag.argmax(axis=1))
    unclipped = clipped < ceiling
    np.testing.assert_array_equal(out[unclipped], clipped[unclipped])
    # 14 dB over: fitted, but capped at max_excess_db
    got_db = 20 * np.log10(declip(np.minimum(2 * mag, ceiling), 1024, 2048)[0].max(axis=1))
    np.testing.assert_allclose(got_db, 20 * np.log10(ceiling) + 10.0, atol=1e-6)
    # 20 dB over: the neighbours lie outside one main lobe -> the fallback cap
    got_db = 20 * np.log10(declip(np.minimum(4 * mag, ceiling), 1024, 2048)[0].max(axis=1))
    np.testing.assert_allclose(got_db, 20 * np.log10(ceiling) + 5.0, atol=1e-6)
    same, _ = declip(mag, 1024, 2048)  # unclipped: each frame's single top bin is refitted
    np.testing.assert_allclose(same, mag, rtol=1e-3)


def test_pghi_on_clipped_tone_is_helped_by_declipping():
    t = np.arange(SR) / SR
    ph = 2 * np.pi * np.cumsum(150 * (1 + 0.03 * np.sin(2 * np.pi * 2 * t))) / SR
    x = _fade(sum(0.25 / k * np.sin(k * ph) for k in range(1, 20)))
    clipped = np.minimum(_stft_mag(x), 10.0)

    def sc(**kw):
        y = pghi(clipped, 256, 2048, 1024, length=len(x), **kw)
        return spectral_convergence(clipped, np.minimum(_stft_mag(y), 10.0))

    with_declip, without = sc(), sc(declip_plateaus=False)
    assert with_declip < 0.7 * without
