"""Metrics on signals with known answers, and wrappers vs the packages."""
import librosa
import numpy as np
import pytest
import scipy.fft
import soundfile as sf
from pesq import pesq
from pystoi import stoi as pystoi_stoi
from scipy.signal import butter, lfilter, sosfilt

from dsp.audio import resample
from dsp.metrics import (dnsmos, f0_errors, f0_track, log_spectral_distance, mel_cepstral_distortion, mel_cepstrum,
                         pesq_nb, sdr, si_sdr, significant, spectral_convergence, stoi, visqol)
from dsp.spectral import mel_filterbank, stft


@pytest.fixture(scope="module")
def speechlike():
    rng = np.random.default_rng(0)
    sr = 16000
    t = np.arange(3 * sr) / sr
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 30))
    x *= 0.5 * (1 + np.sin(2 * np.pi * 3 * t)) ** 2  # syllable-like envelope
    return sr, x / np.abs(x).max() * 0.5, rng.standard_normal(len(t))


def test_si_sdr_of_known_noise_level(speechlike):
    _, s, n = speechlike
    n = n / np.linalg.norm(n) * np.linalg.norm(s - s.mean()) / 10  # 20 dB
    assert si_sdr(s, s + n) == pytest.approx(20.0, abs=0.2)
    assert si_sdr(s, 3.0 * (s + n)) == pytest.approx(20.0, abs=0.2)  # scale invariant


def test_sdr_forgives_short_filters_but_not_noise(speechlike):
    _, s, n = speechlike
    filtered = np.convolve(s, [0, 0, 0, 0, 0, 0, 1.0, -0.7, 0.2])[:len(s)]
    assert sdr(s, filtered) > 40.0          # a short delay + filter is allowed
    assert si_sdr(s, filtered) < 15.0       # SI-SDR is not so forgiving
    noisy = s + n / np.linalg.norm(n) * np.linalg.norm(s) / 10
    assert sdr(s, noisy) == pytest.approx(20.0, abs=0.5)


def test_spectral_measures_zero_on_identity_and_known_gain():
    mag = np.random.default_rng(1).random((20, 65)) + 0.1
    assert spectral_convergence(mag, mag) == 0.0
    assert log_spectral_distance(mag, mag) == 0.0
    assert log_spectral_distance(mag, 2 * mag) == pytest.approx(20 * np.log10(2))
    assert spectral_convergence(mag, 0.5 * mag) == pytest.approx(0.5)


def test_mcd_grows_with_distortion(speechlike):
    sr, s, n = speechlike
    assert mel_cepstral_distortion(s, s, sr) == pytest.approx(0.0, abs=1e-9)
    small = mel_cepstral_distortion(s, s + 0.003 * n, sr)
    large = mel_cepstral_distortion(s, s + 0.05 * n, sr)
    assert 0 < small < large


def test_mel_cepstrum_uses_the_cepstral_convention(speechlike):
    """Full-length cepstrum rebuilds ln|X_mel| as c0 + 2 sum c_k cos(pi k (n + 1/2) / N)."""
    sr, s, _ = speechlike
    c = mel_cepstrum(s, sr, n_mfcc=40, n_mels=40)
    n = np.arange(40)
    basis = np.cos(np.pi * np.arange(40)[:, None] * (n + 0.5)[None, :] / 40)
    basis[1:] *= 2.0
    hop = int(0.005 * sr)
    mag = np.abs(stft(s, 1024, hop, win_length=int(0.025 * sr)))
    power = mag ** 2 @ mel_filterbank(sr, 1024, 40, 0.0, sr / 2).T
    log_amp = 0.5 * np.log(np.maximum(power, 1e-10 * power.max()))
    np.testing.assert_allclose(c @ basis, log_amp, atol=1e-9)


def test_mcd_of_a_gain_is_zero_and_of_a_known_filter_matches_its_cepstrum(speechlike):
    sr, s, noise = speechlike
    assert mel_cepstral_distortion(s, 0.3 * s, sr) == pytest.approx(0.0, abs=1e-6)
    # white noise through 1 - a z^-1: the log-amplitude difference is ln|1 - a e^{-jw}| at every
    # mel band centre; its cepstrum (same convention) gives the MCD in closed form
    centres = librosa.mel_frequencies(42, fmin=0.0, fmax=sr / 2)[1:-1]
    for a in (0.3, 0.9):
        log_amp = np.log(np.abs(1 - a * np.exp(-2j * np.pi * centres / sr)))
        c = scipy.fft.dct(log_amp, type=2, norm=None) / 80.0
        expected = 10 / np.log(10) * np.sqrt(2 * np.sum(c[1:13] ** 2))
        got = mel_cepstral_distortion(noise, lfilter([1.0, -a], [1.0], noise), sr)
        assert got == pytest.approx(expected, rel=0.01)


def test_pesq_and_stoi_wrappers_agree_with_the_packages(speechlike):
    sr, s, n = speechlike
    est = s + 0.05 * n
    assert pesq_nb(s, est, sr) == pytest.approx(pesq(16000, s, est, "nb"), abs=1e-6)
    assert stoi(s, est, sr) == pytest.approx(pystoi_stoi(s, est, sr), abs=1e-9)
    # resampled path: 22.05 kHz input is scored at 16 kHz
    s22 = resample(s.astype(np.float32), 16000, 22050)
    score = pesq_nb(s22, s22, 22050)
    assert score > 4.0


@pytest.fixture(scope="module")
def speech(request):
    """(sr, x, white noise): 4 s of LJSpeech when the real data is there, else a synthetic utterance."""
    try:
        wav = sorted((request.getfixturevalue("realdata") / "ljspeech_sample" / "wavs").glob("*.wav"))[0]
    except pytest.skip.Exception:
        wav = sorted((request.getfixturevalue("tiny_corpus") / "wav").glob("*.wav"))[0]
    x, sr = sf.read(str(wav), dtype="float32")
    x = x[:4 * sr]
    x = 0.5 * x / np.abs(x).max()
    noise = np.random.default_rng(0).standard_normal(len(x)).astype("float32")
    return sr, x, noise * np.sqrt(np.mean(x ** 2))  # 0 dB SNR when added


def test_dnsmos_prefers_clean_speech_to_noisy(speech):
    sr, x, noise = speech
    clean, noisy = dnsmos(x, sr), dnsmos(np.clip(x + noise, -1, 1), sr)
    assert set(clean) == {"p808", "sig", "bak", "ovrl"}
    assert all(1.0 <= v <= 5.0 for v in clean.values())
    assert clean["p808"] > noisy["p808"] + 0.3
    assert clean["bak"] > noisy["bak"]


@pytest.mark.slow
def test_visqol_of_a_copy_is_high_and_of_a_degraded_copy_lower(speech):
    sr, x, noise = speech
    itself = visqol(x, x, sr)
    noisy = visqol(x, x + noise, sr)
    lowpassed = visqol(x, sosfilt(butter(8, 1000, fs=sr, output="sos"), x), sr)  # telephone-dark: 1 kHz
    assert itself > 4.0
    assert noisy < itself - 1.0
    assert lowpassed < itself - 0.5


def _harmonic(f0, sr, seconds=1.0):
    t = np.arange(int(seconds * sr)) / sr
    return sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6)).astype(np.float32)


def test_f0_errors_of_tones_with_known_pitch():
    """A 150 Hz tone against itself: no error; against 160 Hz (112 cents sharp): every frame more than
    50 cents off but none gross; against 300 Hz (an octave): every frame gross; against noise, and
    against a copy silenced in its second half: the voicing decisions differ in all and in half
    of the frames. The signals are at 22.05 kHz, resampled to 16 kHz by the tracker."""
    sr = 22050
    ref = f0_track(_harmonic(150.0, sr), sr)
    assert np.nanmedian(ref[0]) == pytest.approx(150.0, rel=0.01) and ref[1].mean() > 0.9
    assert f0_errors(ref, ref) == {"vde": 0.0, "gpe": 0.0, "f0_off50": 0.0}
    sharp = f0_errors(ref, f0_track(_harmonic(160.0, sr), sr))
    assert sharp["f0_off50"] > 0.9 and sharp["gpe"] == 0.0 and sharp["vde"] < 0.1
    octave = f0_errors(ref, f0_track(_harmonic(300.0, sr), sr))
    assert octave["gpe"] > 0.9
    noise = np.random.default_rng(0).normal(0, 0.1, sr).astype(np.float32)
    assert f0_errors(ref, f0_track(noise, sr))["vde"] > 0.8
    half = _harmonic(150.0, sr)
    half[sr // 2:] = 0
    assert f0_errors(ref, f0_track(half, sr))["vde"] == pytest.approx(0.5, abs=0.08)


def test_significant_rounds_only_the_floats():
    assert significant({"a": 0.123456789, "b": 12345.678, "n": 3, "s": "x", "none": None}) == \
        {"a": 0.12346, "b": 12346.0, "n": 3, "s": "x", "none": None}
    assert significant({"a": 0.123456789}, digits=2) == {"a": 0.12}
