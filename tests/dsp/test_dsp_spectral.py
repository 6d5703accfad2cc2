"""STFT, mel filterbanks, dB mapping and mu-law against librosa/scipy."""
import librosa
import numpy as np
import pytest
import scipy.signal

from dsp.filters import de_emphasis, pre_emphasis
from dsp.mulaw import mu_law_decode, mu_law_encode
from dsp.spectral import (denormalize_db, frame_signal, griffin_lim, hann_window, istft, mel_to_linear,
                          log_mel_spectrogram, mel_filterbank, normalize_db, stft, stft_blocks)


@pytest.fixture(scope="module")
def chirp():
    t = np.arange(8000) / 16000
    return (0.5 * np.sin(2 * np.pi * (200 + 3000 * t) * t)).astype(np.float64)


@pytest.mark.parametrize("n_fft,hop,win", [(1024, 80, 480), (512, 128, None), (2048, 256, 1024)])
def test_stft_matches_librosa(chirp, n_fft, hop, win):
    ours = stft(chirp, n_fft, hop, win)
    ref = librosa.stft(chirp, n_fft=n_fft, hop_length=hop, win_length=win,
                       center=True, pad_mode="reflect").T
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_istft_inverts_stft_and_matches_librosa(chirp):
    S = stft(chirp, 1024, 256)
    y = istft(S, 256, length=len(chirp))
    np.testing.assert_allclose(y, chirp, atol=1e-8)
    ref = librosa.istft(S.T, hop_length=256, length=len(chirp))
    np.testing.assert_allclose(y, ref, atol=1e-6)


def test_frame_signal_centres_frames_and_pads_extra_frames():
    x = np.arange(10.0)
    frames = frame_signal(x, 4, 3, center=True, pad_mode="constant", n_frames=5)
    assert frames.shape == (5, 4)
    np.testing.assert_array_equal(frames[0], [0, 0, 0, 1])   # centred on sample 0
    np.testing.assert_array_equal(frames[1], [1, 2, 3, 4])   # centred on sample 3
    np.testing.assert_array_equal(frames[3], [7, 8, 9, 0])    # centred on sample 9
    np.testing.assert_array_equal(frames[4], [0, 0, 0, 0])    # beyond the end: zeros


def test_slaney_filterbank_matches_librosa():
    ours = mel_filterbank(22050, 1024, 80, 125.0, 7600.0)
    ref = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=125, fmax=7600)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-8)


def test_htk_area_filterbank_has_unit_area_triangles():
    fb = mel_filterbank(16000, 1024, 24, 0.0, 8000.0, htk=True, norm="area")
    hz = np.linspace(0, 8000, 513)
    area = np.trapezoid(fb, hz, axis=1)
    np.testing.assert_allclose(area[1:-1], 1.0, rtol=0.02)  # discretisation only
    ref = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=24, fmin=0, fmax=8000, htk=True)
    np.testing.assert_allclose(fb, ref, rtol=1e-5, atol=1e-9)


def test_db_normalisation_round_trip_and_range():
    db = np.linspace(-150, 40, 50)
    n = normalize_db(db, 20.0, -100.0)
    assert n.min() == 0.0 and n.max() == 1.0
    inside = (db - 20 > -100) & (db - 20 < 0)
    np.testing.assert_allclose(denormalize_db(n, 20.0, -100.0)[inside], db[inside])


def test_log_mel_is_in_unit_range_with_hop_frames(chirp):
    m = log_mel_spectrogram(chirp, 22050, n_fft=1024, hop_length=256)
    assert m.shape == (1 + len(chirp) // 256, 80)
    assert m.min() >= 0 and m.max() <= 1 and m.max() > 0.5


def test_griffin_lim_reconstructs_a_consistent_magnitude(chirp):
    mag = np.abs(stft(chirp, 512, 128))
    y = griffin_lim(mag, n_iter=60, hop_length=128, length=len(chirp))
    rebuilt = np.abs(stft(y, 512, 128))
    sc = np.linalg.norm(mag - rebuilt) / np.linalg.norm(mag)
    assert y.shape == chirp.shape and sc < 0.25


def test_pre_emphasis_round_trip_is_exact():
    x = np.random.default_rng(0).standard_normal(1000)
    y = pre_emphasis(x, 0.97)
    assert y[0] == x[0] and np.isclose(y[5], x[5] - 0.97 * x[4])
    np.testing.assert_allclose(de_emphasis(y, 0.97), x, atol=1e-12)


@pytest.mark.parametrize("mu", [255, 127])
def test_mu_law_round_trip_and_librosa_agreement(mu):
    x = np.linspace(-1, 1, 5001)
    codes = mu_law_encode(x, mu)
    assert codes.min() == 0 and codes.max() == mu
    # decoding then re-encoding is the identity on codes
    np.testing.assert_array_equal(mu_law_encode(mu_law_decode(np.arange(mu + 1), mu), mu),
                                  np.arange(mu + 1))
    ref = librosa.mu_compress(x, mu=mu, quantize=True) + (mu + 1) // 2
    assert np.max(np.abs(codes - ref)) <= 1
    # quantisation error is bounded by the code step at each amplitude
    err = np.abs(mu_law_decode(codes, mu) - x)
    assert err.max() < 0.05 and err[np.abs(x) < 0.01].max() < 2e-3


@pytest.mark.parametrize("n", [1, 2, 3, 400, 480, 1024, 1025])
def test_numpy_hann_window_is_scipys_bit_for_bit(n):
    assert np.array_equal(hann_window(n), scipy.signal.get_window("hann", n, fftbins=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("axis", [0, -1])
def test_numpy_pre_emphasis_is_lfilter_bit_for_bit(dtype, axis):
    """pre_emphasis is numpy (get_mfcc must not import scipy.signal), with lfilter's bits."""
    x = (1000 * np.random.default_rng(0).standard_normal((3, 500))).astype(dtype)
    ref = scipy.signal.lfilter([1.0, -0.97], [1.0], x, axis=axis).astype(dtype, copy=False)
    got = pre_emphasis(x, 0.97, axis=axis)
    assert got.dtype == ref.dtype and np.array_equal(got, ref)


def test_stft_window_other_than_hann_still_works(chirp):
    ours = stft(chirp, 512, 128, 400, window="hamming")
    ref = librosa.stft(chirp, n_fft=512, hop_length=128, win_length=400, window="hamming",
                       pad_mode="reflect").T
    np.testing.assert_allclose(ours, ref, atol=1e-6)


@pytest.mark.parametrize("n", [100, 513, 16000 * 3 + 17])
@pytest.mark.parametrize("extra_frames", [None, 0, 5])
def test_stft_blocks_are_the_rows_of_the_whole_stft(n, extra_frames):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    n_frames = None if extra_frames is None else -(-n // 80) + extra_frames
    whole = stft(x, 1024, 80, 480, n_frames=n_frames)
    blocks = list(stft_blocks(x, 1024, 80, 480, n_frames=n_frames, block_frames=100))
    assert [t0 for t0, _ in blocks] == list(range(0, len(whole), 100))
    joined = np.concatenate([b for _, b in blocks])
    assert joined.dtype == whole.dtype and np.array_equal(joined, whole)


def test_mel_to_linear_is_the_nnls_inverse_librosa_finds():
    sr, t = 22050, np.arange(22050) / 22050
    x = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 20)) * 0.1
    x = x + 0.01 * np.random.default_rng(0).standard_normal(len(x))
    mag = np.abs(stft(x, 1024, 256))
    fb = mel_filterbank(sr, 1024, 80, 125.0, 7600.0)
    mel = mag @ fb.T
    ours = mel_to_linear(mel, fb)
    ref = librosa.feature.inverse.mel_to_stft(mel.T, sr=sr, n_fft=1024, power=1.0, fmin=125.0, fmax=7600.0).T
    assert ours.shape == ref.shape == mag.shape and ours.min() >= 0.0
    residual = lambda S: np.linalg.norm(S @ fb.T - mel) / np.linalg.norm(mel)  # noqa: E731
    assert residual(ours) < 1e-4 and residual(ours) <= residual(ref)   # at least as good a fit
    # the problem is under-determined (80 bands, 513 bins): the two solvers pick nearby solutions
    assert np.linalg.norm(ours - ref) / np.linalg.norm(ref) < 0.15
    assert np.abs(ours[:, fb.sum(axis=0) == 0]).max() < 1e-9 * ours.max()   # bins no filter covers
