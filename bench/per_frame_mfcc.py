"""A straightforward per-frame implementation of get_mfcc's analysis.

The baseline that bench_get_mfcc.py measures the vectorised dsp.mfcc
against, and an independent reference for the tests: one Python loop
iteration per frame, scipy's Toeplitz solver, np.roots for the LSFs.
"""
import numpy as np
import scipy.fft
import scipy.linalg
import scipy.signal

from dsp.spectral import mel_filterbank


def analyze_per_frame(x, sr=16000, win_length=480, hop=80, order=30, n_mels=24,
                      n_mfcc=20, nfft=1024, preemph=0.97):
    x = np.asarray(x, dtype=np.float64)
    n_frames = int(np.ceil(len(x) / hop))
    y = np.append(x[0], x[1:] - preemph * x[:-1])
    pad = nfft // 2
    y = np.pad(y, pad, mode="reflect")
    y = np.pad(y, (0, max(0, (n_frames - 1) * hop + nfft - len(y))))
    win = np.zeros(nfft)
    left = (nfft - win_length) // 2
    win[left:left + win_length] = scipy.signal.get_window("hann", win_length)
    fb = mel_filterbank(sr, nfft, n_mels, 0.0, sr / 2, htk=True, norm="area")
    fb_pinv = np.linalg.pinv(fb)
    mfccs = np.zeros((n_frames, n_mfcc))
    lsfs = np.zeros((n_frames, order))
    for t in range(n_frames):
        frame = y[t * hop:t * hop + nfft] * win
        mag = np.maximum(np.abs(np.fft.rfft(frame)), 1e-9)
        energy = 10 * np.log10(np.sum(mag ** 2))
        logmel = 20 * np.log10(np.maximum(fb @ mag, 1e-9))
        c = scipy.fft.dct(logmel, type=2, norm="ortho")[:n_mfcc]
        c[0] = energy
        mfccs[t] = c
        # inversion: c0 only scales the spectrum, which LPC ignores
        full = np.zeros(n_mels)
        full[:n_mfcc] = c
        logmel_hat = scipy.fft.idct(full, type=2, norm="ortho")
        logmel_hat -= logmel_hat.max()
        spec = np.maximum(fb_pinv @ 10 ** (logmel_hat / 20), 1e-9)
        r = np.fft.irfft(spec ** 2)[:order + 1]
        a = np.r_[1.0, scipy.linalg.solve_toeplitz(r[:order], -r[1:order + 1])]
        ext = np.r_[a, 0.0]
        roots = np.concatenate([np.roots(ext + ext[::-1]), np.roots(ext - ext[::-1])])
        ang = np.angle(roots)
        lsfs[t] = np.sort(ang[(ang > 1e-7) & (ang < np.pi - 1e-7)])[:order]
    return mfccs, lsfs
