"""dsp.filters: the DC blocker and the time-varying FIR / all-pole pair."""
import numpy as np
import pytest
from scipy.signal import lfilter

from dsp.filters import block_allpole, block_fir, dc_block


def test_dc_block_removes_an_offset_keeps_speech_band_and_is_3db_down_at_cutoff():
    sr = 8000
    t = np.arange(4 * sr) / sr
    tone = 0.3 * np.sin(2 * np.pi * 500 * t)
    y = dc_block(tone + 0.2, sr, cutoff=40.0)
    tail = slice(sr, None)                                  # after the transient
    assert abs(np.mean(y[tail])) < 1e-3
    np.testing.assert_allclose(np.std(y[tail]), np.std(tone[tail]), rtol=0.01)
    at_cutoff = dc_block(np.sin(2 * np.pi * 40 * t), sr, cutoff=40.0)
    assert np.std(at_cutoff[tail]) / np.std(np.sin(2 * np.pi * 40 * t[tail])) == \
        pytest.approx(10 ** (-3.01 / 20), abs=0.01)


def test_block_filters_match_a_direct_loop_and_invert_each_other():
    rng = np.random.default_rng(0)
    block, order, n = 7, 4, 45                              # a partial last block
    a = np.concatenate([np.ones((7, 1)), 0.2 * rng.standard_normal((7, order))], axis=1)
    x = rng.standard_normal(n)
    e = block_fir(x, a, block)
    expected = [sum(a[i // block, k] * x[i - k] for k in range(order + 1) if i - k >= 0)
                for i in range(n)]
    np.testing.assert_allclose(e, expected, atol=1e-12)
    np.testing.assert_allclose(block_allpole(e, a, block), x, atol=1e-9)
    # one block: the same as scipy's all-pole filter
    np.testing.assert_allclose(block_allpole(x, a[:1], n), lfilter([1.0], a[0], x), atol=1e-12)
