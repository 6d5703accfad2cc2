"""LPC / LSF: known filters, round trips, minimum phase, property test."""
import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp.lpc import (is_minimum_phase, levinson, lpc_envelope, lpc_from_power,
                     lsf_to_poly, poly_to_lsf)


def formant_filter(formants, sr=16000):
    """A(z) with conjugate pole pairs at (frequency, bandwidth) pairs."""
    poles = []
    for f, bw in formants:
        r = np.exp(-np.pi * bw / sr)
        poles += [r * np.exp(2j * np.pi * f / sr), r * np.exp(-2j * np.pi * f / sr)]
    return np.real(np.poly(poles))


def test_levinson_matches_scipy_toeplitz_solve():
    rng = np.random.default_rng(1)
    x = scipy.signal.lfilter([1], [1, -1.3, 0.6], rng.standard_normal(4000))
    r = np.correlate(x, x, "full")[len(x) - 1:len(x) + 12]
    a, err = levinson(r, 12)
    coef = scipy.linalg.solve_toeplitz(r[:12], -r[1:13])
    np.testing.assert_allclose(a[1:], coef, rtol=1e-8, atol=1e-10)
    assert a[0] == 1.0
    np.testing.assert_allclose(err, r[0] + np.dot(a[1:], r[1:13]), rtol=1e-8)


def test_lpc_recovers_known_all_pole_filter_from_its_power_spectrum():
    a_true = formant_filter([(500, 60), (1500, 100), (2500, 120), (3500, 200)])
    power = lpc_envelope(a_true, 4096) ** 2
    a, _ = lpc_from_power(power, 8)
    np.testing.assert_allclose(a, a_true, atol=1e-4)


def test_lsf_of_known_filter_match_np_roots():
    a = formant_filter([(700, 80), (1200, 90), (2600, 120)])
    ext = np.r_[a, 0.0]
    P, Q = ext + ext[::-1], ext - ext[::-1]
    angles = np.concatenate([np.angle(np.roots(P)), np.angle(np.roots(Q))])
    expected = np.sort(angles[(angles > 1e-6) & (angles < np.pi - 1e-6)])
    np.testing.assert_allclose(poly_to_lsf(a), expected, atol=1e-10)


def test_lsf_poly_round_trip_batch_to_1e8():
    rng = np.random.default_rng(0)
    x = scipy.signal.lfilter([1], [1, -1.6, 0.9], rng.standard_normal((300, 800)), axis=1)
    power = np.abs(np.fft.rfft(x * np.hanning(800), 1024, axis=1)) ** 2
    a, _ = lpc_from_power(power, 30)
    lsf = poly_to_lsf(a)
    assert lsf.shape == (300, 30)
    assert np.all(np.diff(lsf, axis=1) > 0) and lsf.min() > 0 and lsf.max() < np.pi
    np.testing.assert_allclose(lsf_to_poly(lsf), a, atol=1e-8)
    # and the other way round: LSF -> poly -> LSF
    np.testing.assert_allclose(poly_to_lsf(lsf_to_poly(lsf)), lsf, atol=1e-8)


def test_filters_rebuilt_from_any_increasing_lsfs_are_minimum_phase():
    rng = np.random.default_rng(3)
    lsf = np.sort(rng.uniform(0.01, np.pi - 0.01, size=(50, 30)), axis=1)
    assert np.all(is_minimum_phase(lsf_to_poly(lsf)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=64, max_size=600),
       st.sampled_from([2, 10, 30]))
def test_property_random_signals_give_valid_lsfs(samples, order):
    x = np.asarray(samples)
    power = np.abs(np.fft.rfft(x, 1024)) ** 2 + 1e-18
    a, err = lpc_from_power(power, order)
    assert np.all(np.isfinite(a)) and err >= 0
    lsf = poly_to_lsf(a)
    assert lsf.shape == (order,)
    assert np.all(np.isfinite(lsf))
    assert np.all(np.diff(lsf) > 0) and lsf[0] > 0 and lsf[-1] < np.pi
    assert is_minimum_phase(lsf_to_poly(lsf))


def test_odd_order_is_rejected():
    with pytest.raises(ValueError, match="even"):
        poly_to_lsf(np.array([1.0, -0.5, 0.2, 0.1]))
