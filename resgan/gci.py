"""Excitation residual, its polarity, glottal closure instants (GCIs) and pulse centres.

The residual is the pre-emphasised speech inverse-filtered by the all-pole
model of get_mfcc.py: the LSFs of neighbouring frames are interpolated
linearly for every sample (LSF interpolation keeps each filter valid and the
residual free of frame-rate discontinuities), turned back into A(z) with
``dsp.lpc.lsf_to_poly`` and applied as a time-varying FIR filter. The pulses
are cut from this residual (synthesis filters them back through the same
model), so it is never altered; only the search runs on a smoothed copy.

``excitation_marks`` finds, per utterance:

1. the **polarity**: in normal-polarity speech the closure's sharp return of
   the glottal flow derivative makes the largest residual sample of a pitch
   period positive (so in the synthetic corpus, whose polarity is known, and in
   every LJSpeech and asterisk es/fr file measured). ``polarity_score`` is the
   amplitude-weighted vote of the largest-magnitude residual sample of every
   voiced pitch period; a negative score flips the residual. (The former test, the skewness of the
   de-emphasised residual, follows the low frequencies, whose phase the
   recording chain shifts: it flipped some LJSpeech clips and not others.)
2. the **GCIs** on the flipped residual smoothed by a 3-tap [1, 2, 1] / 4
   kernel (a single noise sample is not a closure): each voiced region is
   anchored on its largest value and tracked period to period (the largest
   value within +-30 % of the local period around the expected position), then
   every GCI snaps to the largest *positive* residual sample within +-4 samples.
3. the **pulse centres**: each GCI moves to the largest-magnitude residual
   sample of its own Hann-weighted two-period window (the window its pulse is
   cut with), at most ``ALIGN_LIMIT`` of a period away from the GCI, so that the
   pulse's main peak sits at its centre (``resgan.pulse_alignment`` measures it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsp.filters import block_fir, pre_emphasis
from dsp.lpc import lsf_to_poly
from resgan.constants import CENTRE

_POLY_STEP = 16       # samples per interpolated filter (1 ms, 5 per hop): smooth and cheap
SEARCH = 0.3          # GCI tracking window: +-30 % of the period around the expected GCI
REFINE_RADIUS = 4     # samples: snap a tracked GCI to the largest residual sample next to it
ALIGN_LIMIT = 0.35    # fraction of the period a pulse centre may move away from its GCI


@dataclass
class ExcitationMarks:
    """What ``excitation_marks`` finds in one utterance.

    sign: +1, or -1 when the recording is inverted (multiply the residual by it).
    score: the polarity vote in [-1, 1] before flipping (``polarity_score``).
    gci: int64 [k] glottal closure instants (sample indices, increasing).
    centres: int64 [m] pulse centres (increasing; m <= k, see ``align_centres``).
    """

    sign: int
    score: float
    gci: np.ndarray
    centres: np.ndarray


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
    return block_fir(y, a, step)


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


def voiced_regions(mask: np.ndarray):
    """(start, stop) sample ranges of the runs of True in ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _windows(signal: np.ndarray, centres: np.ndarray, half: np.ndarray):
    """Values [m, 2 H + 1] of ``signal`` at centres[i] + j, |j| <= H = max(half), the
    offsets j [2 H + 1], and the mask |j| <= half[i] and inside the signal."""
    h = int(half.max())
    j = np.arange(-h, h + 1)
    idx = centres[:, None] + j[None, :]
    valid = (np.abs(j)[None, :] <= half[:, None]) & (idx >= 0) & (idx < signal.shape[0])
    return signal[np.clip(idx, 0, signal.shape[0] - 1)], j, valid


def polarity_score(residual: np.ndarray, f0: np.ndarray, voiced: np.ndarray, hop: int = 80,
                   sr: int = 16000) -> float:
    """Amplitude-weighted sign of the largest residual samples, in [-1, 1].

    For every voiced frame, the residual sample of largest magnitude within one
    local period centred on the frame votes with its signed value; the score is
    sum(votes) / sum(|votes|). Positive: normal polarity (the closure peaks are
    positive); negative: an inverted recording. 0.0 without voiced frames.
    """
    r = np.asarray(residual, dtype=np.float64)
    rows = np.flatnonzero(np.asarray(voiced, bool) & (f0 > 0))
    rows = rows[rows * hop < r.shape[0]]
    if rows.size == 0:
        return 0.0
    half = np.maximum(np.round(sr / f0[rows] / 2), 1).astype(np.int64)
    seg, _, valid = _windows(r, rows * hop, half)
    seg = np.where(valid, seg, 0.0)
    peaks = seg[np.arange(rows.size), np.argmax(np.abs(seg), axis=1)]
    total = np.sum(np.abs(peaks))
    return float(np.sum(peaks) / total) if total > 0 else 0.0


def smooth_residual(residual: np.ndarray) -> np.ndarray:
    """The residual smoothed by [1, 2, 1] / 4 (the GCI tracking signal)."""
    r = np.asarray(residual, dtype=np.float64)
    out = 0.5 * r
    out[1:] += 0.25 * r[:-1]
    out[:-1] += 0.25 * r[1:]
    return out


def find_gcis(signal: np.ndarray, f0: np.ndarray, voiced: np.ndarray, hop: int = 80,
              sr: int = 16000, search: float = SEARCH) -> np.ndarray:
    """GCIs (sample indices, int64, increasing) at the positive peaks of ``signal``.

    Each voiced region is anchored on its largest value; from there the next GCI
    is the largest value within +-``search`` of the local period around the
    expected position, period to period in both directions.

    Args:
        signal: [n] GCI evidence, peaking positive at closures (``smooth_residual``
            of the polarity-corrected residual).
        f0: [n_frames] Hz (0 where unvoiced); voiced: bool [n_frames].
        hop, sr: frame hop (samples) and sample rate.
        search: half-width of the search window as a fraction of the period.
    """
    signal = np.asarray(signal, dtype=np.float64)
    period, vmask = frame_period_samples(f0, voiced, signal.shape[0], hop, sr)
    gcis = []
    for a, b in voiced_regions(vmask):
        if b - a < 2:
            continue
        anchor = a + int(np.argmax(signal[a:b]))
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
                g = lo + int(np.argmax(signal[lo:hi]))
                if (g - found[-1 if direction > 0 else 0]) * direction <= 0:
                    break
                if direction > 0:
                    found.append(g)
                else:
                    found.insert(0, g)
        gcis.extend(found)
    return np.asarray(gcis, dtype=np.int64)


def refine_gcis(residual: np.ndarray, gcis: np.ndarray, radius: int = REFINE_RADIUS) -> np.ndarray:
    """Move each GCI to the largest (positive) residual sample within +-radius samples."""
    gcis = np.asarray(gcis, dtype=np.int64)
    if gcis.size == 0 or radius <= 0:
        return gcis
    seg, j, valid = _windows(np.asarray(residual, np.float64), gcis, np.full(gcis.size, radius))
    k = j[np.argmax(np.where(valid, seg, -np.inf), axis=1)]
    return np.unique(gcis + k)


def align_centres(residual: np.ndarray, gcis: np.ndarray, period: np.ndarray,
                  limit: float = ALIGN_LIMIT, iterations: int = 4) -> np.ndarray:
    """Pulse centres: each GCI moved to the main peak of its own pulse window.

    The pulse around a centre c is the residual times a Hann window of half-width
    min(period, 199) (``resgan.packaging.extract_pulses``). A centre moves to the
    largest |residual| x window sample of its window, repeated until it stays (at most
    ``iterations`` times), never further than ``limit`` x period from its GCI.

    Args:
        residual: [n] polarity-corrected residual.
        gcis: int64 [k] GCIs; period: [k] local period (samples) at each GCI.
        limit: largest move as a fraction of the period.
        iterations: at most this many moves per centre.
    Returns:
        int64 [m] increasing centres (GCIs that meet on one peak become one).
    """
    gcis = np.asarray(gcis, dtype=np.int64)
    if gcis.size == 0 or limit <= 0:
        return gcis
    period = np.asarray(period, dtype=np.float64)
    half = np.minimum(np.round(period), CENTRE - 1).astype(np.int64)
    reach = np.round(limit * period).astype(np.int64)
    magnitude = np.abs(np.asarray(residual, dtype=np.float64))
    centres = gcis.copy()
    for _ in range(iterations):
        seg, j, valid = _windows(magnitude, centres, half)
        window = 0.5 * (1.0 + np.cos(np.pi * j[None, :] / (half[:, None] + 1.0)))
        valid &= np.abs(centres[:, None] + j[None, :] - gcis[:, None]) <= reach[:, None]
        k = j[np.argmax(np.where(valid, seg * window, -1.0), axis=1)]
        if not k.any():
            break
        centres = centres + k
    return np.unique(centres)


def excitation_marks(residual: np.ndarray, f0: np.ndarray, voiced: np.ndarray, hop: int = 80,
                     sr: int = 16000) -> ExcitationMarks:
    """Polarity, GCIs and pulse centres of one utterance (see the module docstring).

    Args:
        residual: [n] excitation residual (``inverse_filter``), as recorded.
        f0: [n_frames] Hz (0 where unvoiced); voiced: bool [n_frames].
        hop, sr: frame hop (samples) and sample rate.
    Returns:
        ExcitationMarks; its GCIs and centres refer to ``sign * residual``.
    """
    score = polarity_score(residual, f0, voiced, hop, sr)
    sign = -1 if score < 0 else 1
    r = sign * np.asarray(residual, dtype=np.float64)
    gci = refine_gcis(r, find_gcis(smooth_residual(r), f0, voiced, hop, sr))
    period, _ = frame_period_samples(f0, voiced, r.shape[0], hop, sr)
    centres = align_centres(r, gci, period[gci]) if gci.size else gci
    return ExcitationMarks(sign, score, gci, centres)


def pulse_centring(pulses: np.ndarray, voiced: np.ndarray, tolerance: int = 3) -> dict:
    """How well voiced pulses are centred (the targets' alignment statistics).

    Args:
        pulses: [n_frames, 400] pulses (de-normalised targets).
        voiced: bool [n_frames], the frames with a voiced pulse.
        tolerance: samples.
    Returns:
        dict: n_voiced; n_within, within (number and fraction of voiced pulses whose
        largest-magnitude sample lies within +-tolerance of index 200); positive (fraction whose
        largest-magnitude sample is positive); coherence (energy of the mean
        voiced pulse over the mean energy of a pulse: 1 when all are identical,
        near 0 when misaligned or of mixed polarity). NaN values without voiced pulses.
    """
    p = np.asarray(pulses, dtype=np.float64)[np.asarray(voiced, bool)]
    if p.shape[0] == 0:
        return {"n_voiced": 0, "n_within": 0, "within": float("nan"), "positive": float("nan"),
                "coherence": float("nan")}
    k = np.argmax(np.abs(p), axis=1)
    n_within = int(np.sum(np.abs(k - CENTRE) <= tolerance))
    energy = np.mean(np.sum(p ** 2, axis=1))
    return {"n_voiced": int(p.shape[0]), "n_within": n_within, "within": n_within / p.shape[0],
            "positive": float(np.mean(p[np.arange(p.shape[0]), k] > 0)),
            "coherence": float(np.sum(p.mean(axis=0) ** 2) / energy) if energy > 0 else float("nan")}
