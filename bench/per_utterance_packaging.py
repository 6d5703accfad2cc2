"""A straightforward per-utterance, per-frame implementation of ResGAN's packaging analysis.

The baseline that bench_packaging.py measures resgan.packaging.analyze_utterance against:
the same outputs (inputs [n, 22] = 20 MFCCs, ln F0 interpolated over unvoiced frames, the
voicing flag; targets [n, 400] unit-energy pulses) computed the obvious way, one Python
loop iteration per frame:

* MFCCs and LSFs frame by frame (bench.per_frame_mfcc.analyze_per_frame);
* F0 and voicing by librosa's pYIN (60-400 Hz, 64 ms frames, 5 ms hop);
* the residual frame by frame: each 5 ms block of the pre-emphasised speech filtered by
  its own frame's A(z) (no interpolation);
* one GCI per voiced frame: the most negative residual sample within half a period of
  the frame centre;
* per frame, a two-period Hann-windowed residual segment around the GCI (voiced) or a
  frame-centred 400-sample Hann segment (unvoiced), scaled to unit energy.
"""
import librosa
import numpy as np

from bench.per_frame_mfcc import analyze_per_frame
from dsp.filters import pre_emphasis
from dsp.lpc import lsf_to_poly

SR, HOP, PULSE, CENTRE = 16000, 80, 400, 200


def analyze_utterance_per_frame(x, sr=SR, fmin=60.0, fmax=400.0, preemph=0.97):
    """(inputs [n, 22], targets [n, 400], f0 [n] Hz (0 unvoiced)) of 16 kHz speech x."""
    x = np.asarray(x, dtype=np.float64)
    mfcc, lsf = analyze_per_frame(x, sr=sr, hop=HOP, preemph=preemph)
    n = len(mfcc)
    f0, voiced, _ = librosa.pyin(x, fmin=fmin, fmax=fmax, sr=sr, frame_length=1024, hop_length=HOP)
    f0 = np.pad(np.nan_to_num(f0), (0, max(0, n - len(f0))))[:n]
    voiced = np.pad(voiced, (0, max(0, n - len(voiced))))[:n] & (f0 > 0)

    y = pre_emphasis(x, preemph)
    order = lsf.shape[1]
    padded = np.concatenate([np.zeros(order + HOP), y, np.zeros(HOP)])
    residual = np.zeros(len(y))
    for t in range(n):  # block [t*hop - hop/2, t*hop + hop/2) with frame t's filter
        lo, hi = max(0, t * HOP - HOP // 2), min(len(y), t * HOP + HOP // 2)
        if hi <= lo:
            continue
        segment = padded[lo + HOP: hi + HOP + order]  # y[lo - order .. hi)
        residual[lo:hi] = np.convolve(segment, lsf_to_poly(lsf[t]), mode="full")[order:order + hi - lo]

    ext = np.concatenate([np.zeros(PULSE), residual, np.zeros(PULSE)])
    targets = np.zeros((n, PULSE), np.float32)
    for t in range(n):
        centre = t * HOP
        if voiced[t]:
            period = int(round(sr / f0[t]))
            lo, hi = max(0, centre - period // 2), min(len(residual), centre + period // 2 + 1)
            anchor = lo + int(np.argmin(residual[lo:hi])) if hi > lo else centre
            half = min(period, CENTRE - 1)
        else:
            anchor, half = centre, CENTRE
        k = np.arange(PULSE) - CENTRE
        window = np.where(np.abs(k) <= half, 0.5 * (1 + np.cos(np.pi * k / (half + 1))), 0.0)
        pulse = ext[anchor + PULSE - CENTRE: anchor + 2 * PULSE - CENTRE] * window
        energy = np.sum(pulse ** 2)
        targets[t] = pulse / np.sqrt(energy) if energy > 1e-20 else 0.0

    log_f0 = np.log(np.where(voiced, f0, 1.0))
    idx = np.flatnonzero(voiced)
    log_f0 = np.interp(np.arange(n), idx, log_f0[idx]) if idx.size else np.full(n, np.log(100.0))
    inputs = np.concatenate([mfcc, log_f0[:, None], voiced[:, None]], axis=1).astype(np.float32)
    return inputs, targets, np.where(voiced, f0, 0.0)
