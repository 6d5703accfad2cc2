"""F0 and voicing for ResGAN packaging: a vectorised YIN estimator.

Why YIN and not pYIN: librosa's pyin decodes an HMM over hundreds of pitch
states per frame and runs at a few times real time at our 5 ms hop, far from
the >= 20x real-time packaging target. YIN (de Cheveigne & Kawahara, 2002)
computed for all frames at once with FFTs costs a few ms per second of
speech. Its cumulative-mean-normalised difference at the chosen lag (the
"aperiodicity", 0 = perfectly periodic) plus the frame energy give the voicing
decision, and a short median smoothing removes isolated octave jumps.

Frames follow get_mfcc.py: frame t is centred on sample t * hop, n_frames =
ceil(len / hop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.ndimage


@dataclass
class PitchTrack:
    """Per-frame pitch analysis.

    f0: float32 [n_frames] Hz, 0 where unvoiced.
    voiced: bool [n_frames].
    aperiodicity: float32 [n_frames], YIN's normalised difference at the chosen lag.
    """

    f0: np.ndarray
    voiced: np.ndarray
    aperiodicity: np.ndarray


def yin_difference(frames: np.ndarray, max_lag: int) -> np.ndarray:
    """Cumulative-mean-normalised difference d'(tau), [n_frames, max_lag + 1].

    frames: [n_frames, frame_length] with frame_length > max_lag; the
    integration window is the first frame_length - max_lag samples.
    """
    n, length = frames.shape
    win = length - max_lag
    n_fft = scipy.fft.next_fast_len(length + win, real=True)
    spec = scipy.fft.rfft(frames, n_fft, axis=1)
    head = scipy.fft.rfft(frames[:, :win], n_fft, axis=1)
    corr = scipy.fft.irfft(spec * np.conj(head), n_fft, axis=1)[:, :max_lag + 1]
    frames = frames.astype(np.float64)
    power = np.cumsum(np.concatenate([np.zeros((n, 1)), frames ** 2], axis=1), axis=1)
    energy0 = power[:, win:win + 1]                                   # sum x_j^2, j < win
    energy_tau = power[:, win:win + max_lag + 1] - power[:, :max_lag + 1]
    diff = np.maximum(energy0 + energy_tau - 2.0 * corr, 0.0)
    cmnd = np.ones_like(diff)
    cum = np.cumsum(diff[:, 1:], axis=1)
    tau = np.arange(1, max_lag + 1)
    cmnd[:, 1:] = diff[:, 1:] * tau / np.maximum(cum, 1e-12)
    return cmnd


def yin(x, sr: int = 16000, hop: int = 80, n_frames: int | None = None, fmin: float = 60.0,
        fmax: float = 400.0, threshold: float = 0.15, voicing_threshold: float = 0.35,
        onset_threshold: float = 0.5, silence_db: float = -45.0) -> PitchTrack:
    """Vectorised YIN F0 with voicing.

    Args:
        x: float [n] mono signal.
        sr: sample rate (Hz), default 16000.
        hop: frame hop in samples, default 80 (5 ms at 16 kHz).
        n_frames: default ceil(n / hop) (as get_mfcc.py).
        fmin, fmax: search range in Hz, default 60 .. 400.
        threshold: YIN absolute threshold for the first dip, default 0.15.
        voicing_threshold: a frame is voiced when its aperiodicity is below this, default 0.35,
        onset_threshold: ... or below this (default 0.5) and connected to such a frame
            through frames below it (hysteresis: catches breathy onsets and offsets),
        silence_db: ... and its energy is within this many dB of the loudest frame, default -45.

    Returns:
        PitchTrack with f0 (0 where unvoiced), voiced, aperiodicity, each [n_frames].
    """
    x = np.asarray(x, dtype=np.float64)
    if n_frames is None:
        n_frames = -(-len(x) // hop)
    min_lag = max(2, int(np.floor(sr / fmax)))
    max_lag = int(np.ceil(sr / fmin))
    frame_length = 2 * max_lag + 2
    # frame t starts max_lag samples before t*hop: the integration window is centred on it
    padded = np.pad(x, (frame_length, frame_length))
    starts = frame_length + np.arange(n_frames) * hop - (frame_length - max_lag) // 2
    # float32 FFTs: twice as fast, and ample precision for a pitch estimate
    frames = padded[starts[:, None] + np.arange(frame_length)[None, :]].astype(np.float32)
    cmnd = yin_difference(frames, max_lag)

    # first lag in range that is below the threshold and a local minimum; else the global minimum
    search = cmnd[:, min_lag:max_lag]
    local_min = np.zeros_like(search, dtype=bool)
    local_min[:, 1:-1] = (search[:, 1:-1] <= search[:, :-2]) & (search[:, 1:-1] <= search[:, 2:])
    candidates = local_min & (search < threshold)
    has = candidates.any(axis=1)
    lag = np.where(has, np.argmax(candidates, axis=1), np.argmin(search, axis=1))
    rows = np.arange(n_frames)
    # parabolic interpolation of the dip
    lag_c = np.clip(lag, 1, search.shape[1] - 2)
    left, mid, right = search[rows, lag_c - 1], search[rows, lag_c], search[rows, lag_c + 1]
    denom = left - 2.0 * mid + right
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
    shift = np.clip(shift, -1.0, 1.0)
    period = min_lag + lag_c + shift
    aperiodicity = search[rows, lag]
    f0 = sr / period

    frame_db = 10.0 * np.log10(np.mean(frames[:, :frame_length - max_lag] ** 2, axis=1) + 1e-12)
    loud = frame_db > frame_db.max() + silence_db
    voiced = _hysteresis(aperiodicity < voicing_threshold, aperiodicity < onset_threshold) & loud
    voiced = _clean_voicing(voiced, min_run=3)
    f0 = _smooth_f0(f0, voiced)
    f0 = np.where(voiced, f0, 0.0)
    return PitchTrack(f0.astype(np.float32), voiced, aperiodicity.astype(np.float32))


def _runs(mask: np.ndarray):
    """(start, stop) of runs of True in a bool array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _hysteresis(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Runs of ``weak`` frames that contain at least one ``strong`` frame."""
    out = np.zeros_like(strong)
    for a, b in _runs(weak):
        if strong[a:b].any():
            out[a:b] = True
    return out


def _clean_voicing(voiced: np.ndarray, min_run: int = 3) -> np.ndarray:
    """Fill 1-frame gaps, then drop voiced runs shorter than min_run frames."""
    v = voiced.copy()
    gaps = ~v[1:-1] & v[:-2] & v[2:]
    v[1:-1] |= gaps
    for a, b in _runs(v):
        if b - a < min_run:
            v[a:b] = False
    return v


def _smooth_f0(f0: np.ndarray, voiced: np.ndarray, size: int = 5) -> np.ndarray:
    """Remove octave-like outliers in each voiced run (running median, then run median)."""
    out = f0.copy()
    for a, b in _runs(voiced):
        seg = np.log2(f0[a:b])
        med = scipy.ndimage.median_filter(seg, size=min(size, b - a), mode="nearest")
        bad = np.abs(seg - med) > 0.3  # more than ~ a quarter octave away
        seg[bad] = med[bad]
        # octave errors at voicing onsets (the window half in silence) survive a short
        # median: re-interpolate frames ~an octave away from the run's median
        far = np.abs(seg - np.median(seg)) > 0.8
        if far.any() and not far.all():
            keep = np.flatnonzero(~far)
            seg[far] = np.interp(np.flatnonzero(far), keep, seg[keep])
        out[a:b] = 2.0 ** seg
    return out


def interpolated_log_f0(f0: np.ndarray, voiced: np.ndarray, default_hz: float = 100.0) -> np.ndarray:
    """ln F0 [n_frames], linearly interpolated over unvoiced frames (held at the ends).

    An utterance without voiced frames gets ln(default_hz) everywhere.
    """
    idx = np.flatnonzero(voiced & (f0 > 0))
    if idx.size == 0:
        return np.full(f0.shape, np.log(default_hz), dtype=np.float32)
    return np.interp(np.arange(f0.shape[0]), idx, np.log(f0[idx])).astype(np.float32)
