"""Excitation residual and glottal closure instants (GCIs) for ResGAN packaging.

The residual is the pre-emphasised speech inverse-filtered by the all-pole
model of get_mfcc.py: the LSFs of neighbouring frames are interpolated
linearly for every sample (LSF interpolation keeps each filter valid and the
residual free of frame-rate discontinuities), turned back into A(z) with
``dsp.lpc.lsf_to_poly`` and applied as a time-varying FIR filter.

A GCI is the main negative excitation peak of a pitch period. In every voiced
region we anchor on the strongest negative residual peak, then track period to
period in both directions: the next GCI is the most negative residual sample
in a window of +-30 % of the local period around the expected position.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

from dsp.filters import de_emphasis, pre_emphasis
from dsp.lpc import lsf_to_poly

_POLY_STEP = 16  # samples per interpolated filter (1 ms, 5 per hop): smooth and cheap


def sample_lsf(lsf: np.ndarray, n_samples: int, hop: int, step: int = _POLY_STEP) -> np.ndarray:
    """LSFs [n_blocks, p] linearly interpolated between frame centres (t * hop),
    one set per block of ``step`` samples (evaluated at the block centre)."""
    lsf = np.asarray(lsf, dtype=np.float64)
    n_blocks = -(-n_samples // step)
    pos = (np.arange(n_blocks) * step + 0.5 * (step - 1)) / hop
    pos = np.clip(pos, 0, lsf.shape[0] - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, lsf.shape[0] - 1)
    frac = (pos - lo)[:, None]
    return (1.0 - frac) * lsf[lo] + frac * lsf[hi]


def inverse_filter(x: np.ndarray, lsf: np.ndarray, hop: int = 80, preemphasis: float = 0.97,
                   step: int = _POLY_STEP) -> np.ndarray:
    """Excitation residual [n] of speech x [n] given per-frame LSFs [n_frames, p].

    residual[n] = sum_k a_n[k] y[n - k], y = pre-emphasised x, a_n = A(z) of
    the LSFs interpolated at sample n (piecewise constant over ``step`` samples).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    y = pre_emphasis(x, preemphasis) if preemphasis else x
    a = lsf_to_poly(sample_lsf(lsf, n, hop, step))          # [n_blocks, p+1]
    order = a.shape[1] - 1
    padded = np.concatenate([np.zeros(order), y])
    # windows[m] = y[m - order .. m]; reversed, it pairs with a[0..order]
    windows = sliding_window_view(padded, order + 1)[:, ::-1]  # [n, p+1]
    coef = np.repeat(a, step, axis=0)[:n]
    return np.einsum("ij,ij->i", windows, coef)


def glottal_derivative(residual: np.ndarray, preemphasis: float = 0.97) -> np.ndarray:
    """De-emphasised residual ~ the glottal flow derivative, whose main negative
    peak in each period marks the GCI (the pre-emphasised residual itself has a
    negative/positive doublet there). A leaky integrator (pole 0.97) with the mean
    removed keeps low-frequency drift out."""
    r = np.asarray(residual, dtype=np.float64)
    if not preemphasis:
        return r
    d = de_emphasis(r, preemphasis)
    return d - scipy.signal.lfilter([1.0 - 0.995], [1.0, -0.995], d)  # remove slow drift


def frame_period_samples(f0: np.ndarray, voiced: np.ndarray, n_samples: int, hop: int, sr: int):
    """Per-sample pitch period (samples) and voicing from per-frame F0 (frame t at t*hop)."""
    frames = np.arange(f0.shape[0]) * hop
    idx = np.flatnonzero(voiced & (f0 > 0))
    t = np.arange(n_samples)
    if idx.size == 0:
        return np.full(n_samples, np.inf), np.zeros(n_samples, bool)
    period = sr / np.interp(t, frames[idx], f0[idx])
    frame_of_sample = np.minimum((t + hop // 2) // hop, f0.shape[0] - 1)
    return period, voiced[frame_of_sample]


def _voiced_regions(mask: np.ndarray):
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def find_gcis(residual: np.ndarray, f0: np.ndarray, voiced: np.ndarray, hop: int = 80,
              sr: int = 16000, search: float = 0.3) -> np.ndarray:
    """GCIs (sample indices, int64, increasing) in the voiced regions.

    Args:
        residual: [n] excitation residual (``inverse_filter``).
        f0: [n_frames] Hz (0 where unvoiced); voiced: bool [n_frames].
        hop, sr: frame hop (samples) and sample rate.
        search: half-width of the search window as a fraction of the period.
    """
    residual = np.asarray(residual, dtype=np.float64)
    n = residual.shape[0]
    period, vmask = frame_period_samples(f0, voiced, n, hop, sr)
    neg = -residual
    gcis = []
    for a, b in _voiced_regions(vmask):
        if b - a < 2:
            continue
        anchor = a + int(np.argmax(neg[a:b]))
        found = [anchor]
        for direction in (1, -1):
            g = anchor
            while True:
                t = period[g]
                expect = g + direction * t
                lo = int(np.floor(expect - search * t))
                hi = int(np.ceil(expect + search * t)) + 1
                if direction > 0 and lo >= b or direction < 0 and hi <= a:
                    break
                lo, hi = max(lo, a), min(hi, b)
                if hi - lo < 1:
                    break
                g = lo + int(np.argmax(neg[lo:hi]))
                if (g - found[-1 if direction > 0 else 0]) * direction <= 0:
                    break
                if direction > 0:
                    found.append(g)
                else:
                    found.insert(0, g)
        gcis.extend(found)
    return np.asarray(gcis, dtype=np.int64)


def polarity(derivative: np.ndarray, voiced: np.ndarray, hop: int = 80) -> int:
    """+1 if the glottal derivative has its large peaks negative (normal speech), else -1.

    The flow derivative's main excitation at closure is a sharp negative peak, so
    its distribution over voiced samples is negatively skewed; a recording with
    inverted polarity shows a positive skew.
    """
    mask = np.repeat(np.asarray(voiced, bool), hop)[:derivative.shape[0]]
    d = derivative[mask] if mask.any() else derivative
    d = d - d.mean()
    skew = np.mean(d ** 3) / (np.mean(d ** 2) ** 1.5 + 1e-30)
    return -1 if skew > 0 else 1


def refine_gcis(residual: np.ndarray, gcis: np.ndarray, radius: int = 4) -> np.ndarray:
    """Move each GCI to the largest |residual| sample within +-radius samples.

    The pre-emphasised residual has a short negative/positive doublet at closure;
    snapping to its main peak puts that peak exactly at the pulse centre.
    """
    if gcis.size == 0 or radius <= 0:
        return gcis
    r = np.abs(np.asarray(residual))
    offsets = np.arange(-radius, radius + 1)
    idx = np.clip(gcis[:, None] + offsets[None, :], 0, r.shape[0] - 1)
    refined = idx[np.arange(gcis.size), np.argmax(r[idx], axis=1)]
    return np.unique(refined)
