"""dsp.mfcc (get_mfcc's analysis): envelopes of known all-pole vowels, edge signals,
the per-frame reference, real speech."""
import numpy as np
import pytest
import scipy.fft
import scipy.signal

from bench.per_frame_mfcc import analyze_per_frame
from dsp.audio import load_audio
from dsp.lpc import is_minimum_phase, lpc_envelope, lsf_to_poly
from dsp.mfcc import MfccConfig, analyze, dct_matrix, lsf_to_envelope, mfcc_to_envelope

SR = 16000
CFG = MfccConfig()


def vowel(formants, f0=110.0, seconds=1.0, seed=0):
    """Impulse train at f0 through a known all-pole filter; returns (x, a)."""
    poles = []
    for f, bw in formants:
        r = np.exp(-np.pi * bw / SR)
        poles += [r * np.exp(2j * np.pi * f / SR), r * np.exp(-2j * np.pi * f / SR)]
    a = np.real(np.poly(poles))
    n = int(seconds * SR)
    e = np.zeros(n)
    e[::int(SR / f0)] = 1.0
    rng = np.random.default_rng(seed)
    return scipy.signal.lfilter([1.0], a, e) + 1e-5 * rng.standard_normal(n), a


def _shape_db(mag):
    db = 20 * np.log10(mag)
    return db - db.mean(axis=-1, keepdims=True)


@pytest.mark.parametrize("formants", [
    [(730, 90), (1090, 110), (2440, 170), (3400, 250)],   # /a/
    [(270, 60), (2290, 100), (3010, 150), (3700, 250)],   # /i/
    [(300, 60), (870, 90), (2240, 140), (3300, 250)],     # /u/
])
def test_envelope_of_known_vowel_is_recovered(formants):
    x, a = vowel(formants)
    result = analyze(x, CFG)
    # analysis sees the pre-emphasised vowel: compare with that spectrum
    truth = lpc_envelope(a, CFG.nfft) * np.abs(np.fft.rfft([1, -CFG.preemphasis], CFG.nfft))
    est = lsf_to_envelope(result.lsf[50:150].astype(np.float64), CFG.nfft)
    band = slice(2, int(4000 / SR * CFG.nfft))  # formant region, 0-4 kHz
    lsd = np.sqrt(np.mean((_shape_db(truth[band]) - _shape_db(est[:, band])) ** 2, axis=-1))
    assert np.median(lsd) < 4.0, np.median(lsd)
    # every formant is a peak of the estimate, within the mel resolution there
    # (24 filters over 8 kHz: ~100 Hz apart at 500 Hz, ~300 Hz at 3 kHz)
    freqs = np.arange(CFG.nfft // 2 + 1) * SR / CFG.nfft
    est_peaks = freqs[scipy.signal.find_peaks(20 * np.log10(est[50]))[0]]
    # (F4 above 3 kHz may merge with F3 at this resolution: F1-F3 are checked)
    for f, _ in formants[:3]:
        assert np.min(np.abs(est_peaks - f)) < max(100.0, 0.07 * f), (f, est_peaks)


def test_frame_count_shapes_and_energy():
    x, _ = vowel([(500, 80), (1500, 100)], seconds=0.503)
    r = analyze(x, CFG)
    n = int(np.ceil(len(x) / CFG.hop_size))
    assert r.mfcc.shape == (n, 20) and r.lsf.shape == (n, 30) and r.energy_db.shape == (n,)
    np.testing.assert_allclose(r.mfcc[:, 0], r.energy_db)
    # the envelope from MFCCs carries the frame energy
    env = mfcc_to_envelope(r.mfcc[10:12].astype(np.float64), CFG)
    np.testing.assert_allclose(10 * np.log10(np.sum(env ** 2, axis=-1)), r.energy_db[10:12],
                               atol=1e-3)


def test_vectorised_analysis_equals_per_frame_reference():
    x, _ = vowel([(600, 80), (1700, 120), (2600, 160)], seconds=0.3)
    x = x + 0.01 * np.random.default_rng(1).standard_normal(len(x))
    r = analyze(x, CFG)
    mfcc_ref, lsf_ref = analyze_per_frame(x)
    np.testing.assert_allclose(r.mfcc, mfcc_ref, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(r.lsf, lsf_ref, atol=1e-5)


@pytest.mark.parametrize("n", [13, 24, 40])
def test_numpy_dct_matrix_equals_scipy_orthonormal_dct(n):
    np.testing.assert_allclose(dct_matrix(n), scipy.fft.dct(np.eye(n), type=2, norm="ortho", axis=0),
                               atol=1e-14)


@pytest.mark.parametrize("kind", ["silence", "tone", "white", "clipped"])
def test_edge_signals_give_finite_valid_lsfs(kind):
    rng = np.random.default_rng(0)
    t = np.arange(SR // 2) / SR
    x = {"silence": np.zeros(len(t)), "tone": 0.5 * np.sin(2 * np.pi * 1000 * t),
         "white": rng.standard_normal(len(t)),
         "clipped": np.clip(5 * np.sin(2 * np.pi * 200 * t), -1, 1)}[kind]
    r = analyze(x, CFG)
    assert np.all(np.isfinite(r.lsf)) and np.all(np.isfinite(r.mfcc))
    assert np.all(np.diff(r.lsf, axis=1) > 0)
    assert r.lsf.min() > 0 and r.lsf.max() < np.pi
    assert np.all(is_minimum_phase(lsf_to_poly(r.lsf[::10].astype(np.float64))))


def test_real_speech_gives_plausible_envelopes(realdata):
    x, _ = load_audio(realdata / "ljspeech_sample" / "wavs" / "LJ001-0002.wav", sr=SR)
    r = analyze(x, CFG)
    assert np.all(np.isfinite(r.lsf)) and np.all(np.diff(r.lsf, axis=1) > 0)
    # voiced speech: the strongest envelope peak of loud frames lies below 4 kHz
    loud = np.argsort(r.energy_db)[-50:]
    env = lsf_to_envelope(r.lsf[loud].astype(np.float64), CFG.nfft)
    peak_hz = np.argmax(env, axis=1) * SR / CFG.nfft
    assert np.median(peak_hz) < 4000
    # and the per-frame reference agrees on real speech too
    _, lsf_ref = analyze_per_frame(x[:SR])
    head = analyze(x[:SR], CFG)
    np.testing.assert_allclose(head.lsf, lsf_ref, atol=1e-5)


def test_block_size_changes_nothing_but_float_rounding():
    x, _ = vowel([(600, 80), (1700, 120), (2600, 160)], seconds=1.3)
    whole = analyze(x, CFG, block_frames=10 ** 6)
    blocks = analyze(x, CFG, block_frames=97)
    assert np.array_equal(blocks.magnitude, whole.magnitude)
    assert np.array_equal(blocks.energy_db, whole.energy_db)
    np.testing.assert_allclose(blocks.mfcc, whole.mfcc, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(blocks.lsf, whole.lsf, atol=1e-6)
