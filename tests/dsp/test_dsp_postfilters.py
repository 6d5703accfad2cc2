"""dsp.postfilters.match_mel_envelope: known gains, clipping, an equaliser on the input (not a
re-synthesis of the target), convergence with iterations, shape checks."""
import numpy as np
import pytest
from scipy.signal import lfilter

from dsp.postfilters import match_mel_envelope, mel_gains_to_bins
from dsp.spectral import mel_filterbank, stft

SR, N_FFT, HOP = 16000, 800, 200
FB = mel_filterbank(SR, N_FFT, 80, 0.0, SR / 2)


def mel_amp(x):
    return np.abs(stft(np.asarray(x, np.float64), N_FFT, HOP)) @ FB.T


def harmonic(f0=150.0, seconds=1.0):
    t = np.arange(int(seconds * SR)) / SR
    return sum(np.sin(2 * np.pi * f0 * k * t + k) / k for k in range(1, 40) if f0 * k < 7800)


def relative_rms_error(out, ref):
    return float(np.sqrt(np.mean((out - ref) ** 2) / np.mean(ref ** 2)))


def log_mel_distance_db(a, b):
    return float(np.mean(np.abs(20 * np.log10(np.maximum(a, 1e-5) / np.maximum(b, 1e-5)))))


def test_matching_target_leaves_the_signal_unchanged():
    x = harmonic()
    np.testing.assert_allclose(match_mel_envelope(x, mel_amp(x), FB, N_FFT, HOP), x, atol=1e-5)


def test_a_uniformly_louder_target_scales_the_signal():
    x = harmonic()
    # the STFT's DC bin, which no band covers, keeps gain 1: its window leakage is the 0.1 % left
    assert relative_rms_error(match_mel_envelope(x, mel_amp(2.0 * x), FB, N_FFT, HOP, n_iter=1), 2.0 * x) < 0.005


def test_gains_are_clipped_per_iteration():
    x = harmonic()
    out = match_mel_envelope(x, mel_amp(10.0 * x), FB, N_FFT, HOP, max_gain_db=6.0, n_iter=1)
    assert relative_rms_error(out, 10 ** (6 / 20) * x) < 0.005
    out = match_mel_envelope(x, mel_amp(10.0 * x), FB, N_FFT, HOP, max_gain_db=6.0, n_iter=2)
    assert relative_rms_error(out, 10 ** (12 / 20) * x) < 0.005


def test_it_equalises_the_input_toward_the_target_spectrum():
    """White noise pulled toward the mel of *another* noise through a low-pass filter: its mel comes
    close to the target's, iterations bring it closer, and the result is the input through (nearly)
    that filter, not the other noise."""
    rng = np.random.default_rng(0)
    x, other = rng.standard_normal(SR), rng.standard_normal(SR)
    b, a = [0.2], [1.0, -0.8]                        # 14 dB low-pass tilt
    target = mel_amp(lfilter(b, a, other))
    before = log_mel_distance_db(mel_amp(x), target)
    one = match_mel_envelope(x, target, FB, N_FFT, HOP, n_iter=1)
    three = match_mel_envelope(x, target, FB, N_FFT, HOP, n_iter=3)
    after_one, after_three = log_mel_distance_db(mel_amp(one), target), log_mel_distance_db(mel_amp(three), target)
    assert before > 8.0 and after_one < 0.4 * before and after_three < 0.5 * after_one, (before, after_one, after_three)
    # the target's own frame-to-frame fluctuations are imposed too, so "nearly" is a correlation of ~0.7
    assert np.corrcoef(three, lfilter(b, a, x))[0, 1] > 0.6
    assert abs(np.corrcoef(three, lfilter(b, a, other))[0, 1]) < 0.1


def test_bins_outside_every_band_keep_unit_gain():
    fb = mel_filterbank(SR, N_FFT, 40, 300.0, 4000.0)
    bins = np.fft.rfftfreq(N_FFT, 1 / SR)
    spread = mel_gains_to_bins(np.ones((3, 40)), fb)
    np.testing.assert_allclose(spread[:, (bins > 320) & (bins < 3900)], 1.0)
    assert np.all(spread[:, bins < 290] == 0) and np.all(spread[:, bins > 4010] == 0)


def test_whole_hop_frames_are_accepted_and_wrong_shapes_refused():
    x = harmonic(seconds=0.5)
    target = mel_amp(x)
    out = match_mel_envelope(x, target[:-1], FB, N_FFT, HOP)   # the last row is repeated for the last frame
    assert relative_rms_error(out[:-N_FFT], x[:-N_FFT]) < 0.005 and relative_rms_error(out, x) < 0.05
    with pytest.raises(ValueError, match="frames"):
        match_mel_envelope(x, target[:-3], FB, N_FFT, HOP)
    with pytest.raises(ValueError, match="filterbank"):
        match_mel_envelope(x, target[:, :40], FB, N_FFT, HOP)
    with pytest.raises(ValueError, match="max_gain_db"):
        match_mel_envelope(x, target, FB, N_FFT, HOP, max_gain_db=0)

