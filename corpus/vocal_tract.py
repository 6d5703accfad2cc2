"""Vocal tract for the synthetic corpus: formant targets, all-pole filters, filtering.

Each formant (centre frequency F, bandwidth B, in Hz) is a complex-conjugate
pole pair at radius ``r = exp(-pi B / sr)`` and angle ``theta = 2 pi F / sr``,
i.e. the second-order section ``1 - 2 r cos(theta) z^-1 + r^2 z^-2``. The
vocal-tract polynomial ``A(z)`` is the product of the sections, so its order is
``2 * n_formants`` (14 at 16 kHz: 5 phone formants + 2 fixed higher resonances) and it is
minimum phase by construction (all ``r < 1``).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

__all__ = [
    "VOWELS",
    "FRICATIVES",
    "N_FORMANTS",
    "n_formants_for",
    "formant_target",
    "formants_to_lpc",
    "allpole_filter_blocks",
]

N_FORMANTS = 5  # main resonances of every phone

# Higher resonances (Hz, bandwidth) added when they fit below 0.9 x Nyquist of a
# male voice, so that the envelope does not die out above F5 at 16 kHz and up.
_HIGH_VOWEL = ((5500.0, 400.0), (6500.0, 500.0), (7500.0, 600.0))
_HIGH_FRICATIVE_BW = 2000.0


def n_formants_for(sr: int) -> int:
    """Number of pole pairs of the vocal tract at sample rate ``sr`` (7 at 16 kHz)."""
    return N_FORMANTS + sum(f < 0.9 * sr / 2.0 for f, _ in _HIGH_VOWEL)


# Adult male vowel formants F1..F3 (Hz), after Peterson & Barney (1952); F4, F5
# are fixed at typical values. ARPAbet symbols.
VOWELS: dict[str, tuple[float, float, float]] = {
    "iy": (270.0, 2290.0, 3010.0),
    "ih": (390.0, 1990.0, 2550.0),
    "eh": (530.0, 1840.0, 2480.0),
    "ae": (660.0, 1720.0, 2410.0),
    "aa": (730.0, 1090.0, 2440.0),
    "ao": (570.0, 840.0, 2410.0),
    "uh": (440.0, 1020.0, 2240.0),
    "uw": (300.0, 870.0, 2240.0),
    "ah": (640.0, 1190.0, 2390.0),
    "er": (490.0, 1350.0, 1690.0),
}
_F45 = (3500.0, 4500.0)
_VOWEL_BANDWIDTHS = (80.0, 100.0, 150.0, 200.0, 250.0)

# Unvoiced fricatives: resonances of the front cavity excited by turbulent noise
# (frequencies, bandwidths in Hz). Wide lower bandwidths keep the low band weak.
FRICATIVES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "s": ((1400.0, 2800.0, 4300.0, 5600.0, 7000.0), (900.0, 900.0, 500.0, 450.0, 700.0)),
    "sh": ((900.0, 2300.0, 2900.0, 4000.0, 6000.0), (800.0, 350.0, 300.0, 500.0, 900.0)),
    "f": ((1000.0, 2500.0, 4000.0, 5500.0, 7000.0), (1400.0, 1500.0, 1500.0, 1500.0, 1500.0)),
}


def formant_target(phone: str, vt_scale: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Formant frequencies and bandwidths [N_FORMANTS] (Hz) of ``phone`` for one speaker.

    ``vt_scale`` > 1 models a shorter vocal tract (all resonances move up). Resonances
    are kept below 0.9 x Nyquist (pushed ones get a wide bandwidth) so that the
    filter order stays ``2 * N_FORMANTS`` at any sample rate.
    """
    n_high = n_formants_for(sr) - N_FORMANTS
    high_f = [f for f, _ in _HIGH_VOWEL[:n_high]]
    if phone in VOWELS:
        freqs = np.array(VOWELS[phone] + _F45 + tuple(high_f))
        bws = np.array(_VOWEL_BANDWIDTHS + tuple(b for _, b in _HIGH_VOWEL[:n_high]))
    elif phone in FRICATIVES:
        freqs = np.array(FRICATIVES[phone][0] + tuple(high_f))
        bws = np.array(FRICATIVES[phone][1] + (_HIGH_FRICATIVE_BW,) * n_high)
    else:
        raise ValueError(f"unknown phone {phone!r}")
    order_idx = np.argsort(freqs, kind="stable")
    freqs, bws = freqs[order_idx], bws[order_idx]
    freqs = freqs * vt_scale
    limit = 0.9 * sr / 2.0
    over = freqs > limit
    # Spread clipped resonances just below the limit so they never coincide.
    freqs[over] = limit * (1.0 - 0.04 * np.arange(over.sum())[::-1])
    bws[over] = np.maximum(bws[over], 0.1 * sr / 2.0)
    return freqs, bws


def formants_to_lpc(freqs: np.ndarray, bws: np.ndarray, sr: int) -> np.ndarray:
    """All-pole polynomials from formants, vectorised over leading axes.

    Args:
        freqs: formant centre frequencies in Hz, ``[..., n_formants]``.
        bws: formant bandwidths in Hz, ``[..., n_formants]``.
        sr: sample rate in Hz.

    Returns:
        ``a``: ``[..., 2 * n_formants + 1]`` with ``a[..., 0] = 1``; minimum phase.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    bws = np.asarray(bws, dtype=np.float64)
    r = np.exp(-np.pi * bws / sr)
    c1 = -2.0 * r * np.cos(2.0 * np.pi * freqs / sr)
    c2 = r * r
    lead = freqs.shape[:-1]
    a = np.zeros(lead + (1,))
    a[..., 0] = 1.0
    for k in range(freqs.shape[-1]):
        # Multiply by (1 + c1 z^-1 + c2 z^-2), vectorised over frames.
        new = np.zeros(lead + (a.shape[-1] + 2,))
        new[..., :-2] += a
        new[..., 1:-1] += a * c1[..., k : k + 1]
        new[..., 2:] += a * c2[..., k : k + 1]
        a = new
    return a


def allpole_filter_blocks(x: np.ndarray, lpc: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Time-varying all-pole filter ``y = x / A_t(z)`` with per-block coefficients.

    Block ``t`` covers samples ``starts[t] : starts[t+1]`` (the last block runs to
    the end) and uses ``lpc[t]``. The filter memory is the past ``order``
    *outputs* (direct form I), which is exactly the recursion
    ``y[n] = x[n] - sum_k a_t[k] y[n-k]``; it is converted to scipy's transposed
    direct-form state ``zi`` for the new coefficients at every block boundary, so
    that coefficient changes cause no transients.

    Args:
        x: excitation ``[n]``.
        lpc: ``[n_blocks, order + 1]`` polynomials with ``a[:, 0] = 1``.
        starts: ``[n_blocks]`` ascending start samples, ``starts[0] = 0``.

    Returns:
        ``y``: ``[n]`` float64.
    """
    x = np.asarray(x, dtype=np.float64)
    order = lpc.shape[1] - 1
    y = np.zeros(len(x) + order)  # `order` leading zeros hold the initial memory
    ends = np.append(starts[1:], len(x))
    one = np.ones(1)
    # zi[m] = -sum_{k=m+1}^{p} a[k] * y[n + m - k]; with past = y[n-p .. n-1]
    # this is a Hankel product: zi = -H @ past where H[m, j] = a[p + m - j + ...].
    # Build an index matrix once: for m in 0..p-1 and k in m+1..p, past index p + m - k.
    m_idx, k_idx = np.meshgrid(np.arange(order), np.arange(1, order + 1), indexing="ij")
    valid = k_idx > m_idx
    past_idx = np.where(valid, order + m_idx - k_idx, 0)
    for t in range(len(starts)):
        s, e = starts[t], ends[t]
        if e <= s:
            continue
        a = lpc[t]
        past = y[s : s + order]  # outputs y[s-order .. s-1] (shifted by `order`)
        zi = -np.sum(np.where(valid, a[k_idx] * past[past_idx], 0.0), axis=1)
        y[s + order : e + order], _ = lfilter(one, a, x[s:e], zi=zi)
    return y[order:]
