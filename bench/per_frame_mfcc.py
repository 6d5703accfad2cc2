"""A straightforward per-frame implementation of get_mfcc's analysis.

The baseline that bench_get_mfcc.py measures get_mfcc.py against, and an
independent reference for the tests: one Python loop iteration per frame,
scipy's Toeplitz solver, np.roots for the LSFs.  As a command it has
get_mfcc.py's one-file interface, so both can be timed as whole processes:

    python -m bench.per_frame_mfcc --input_file x.wav --lsf_file x.lsf --mfcc_file x.mfcc
"""
import argparse

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.signal

from dsp.audio import atomic_output, cli_main, load_audio
from dsp.spectral import mel_filterbank


def analyze_per_frame(x, sr=16000, win_length=480, hop=80, order=30, n_mels=24,
                      n_mfcc=20, nfft=1024, preemph=0.97):
    """MFCCs [n_frames, n_mfcc] and LSFs [n_frames, order] of x, frame by frame."""
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


@cli_main
def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.per_frame_mfcc",
                                description="Per-frame reference of get_mfcc.py's analysis "
                                            "(default settings only): the benchmark's baseline.")
    p.add_argument("--input_file", required=True, help="input audio file (resampled to 16 kHz)")
    p.add_argument("--lsf_file", help="output: LSFs, raw float32 (n_frames x 30)")
    p.add_argument("--mfcc_file", help="output: MFCCs, raw float32 (n_frames x 20)")
    args = p.parse_args(argv)
    x, _ = load_audio(args.input_file, sr=16000, min_samples=80)
    mfcc, lsf = analyze_per_frame(x)
    for path, values in ((args.lsf_file, lsf), (args.mfcc_file, mfcc)):
        if path:
            with atomic_output(path) as tmp:
                values.astype("<f4").tofile(tmp)


if __name__ == "__main__":
    main()
