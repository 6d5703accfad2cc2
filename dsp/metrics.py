"""Objective measures shared by every pipeline's evaluation.

Spectral measures take magnitudes [..., frames, bins]; waveform measures
take 1-D signals (trimmed to the shorter of the two). The perceptual
estimates (DNSMOS, ViSQOL) run offline: their weights ship in the wheels.
"""
import librosa
import numpy as np
import scipy.fft
import scipy.linalg
from pesq import pesq
from pystoi import stoi as _pystoi

from dsp.audio import resample
from dsp.spectral import mel_filterbank, stft


def _pair(ref, est):
    ref = np.asarray(ref, dtype=np.float64).ravel()
    est = np.asarray(est, dtype=np.float64).ravel()
    n = min(len(ref), len(est))
    if n == 0:
        raise ValueError("cannot score empty signals")
    return ref[:n], est[:n]


def significant(result, digits=5):
    """``result`` (a dict) with its float values rounded to ``digits`` significant digits, for a JSON line."""
    return {k: (float(f"{v:.{digits}g}") if isinstance(v, float) else v) for k, v in result.items()}


def log_spectral_distance(ref_mag, est_mag, floor=1e-9):
    """Mean over frames of the RMS (over bins) dB difference of magnitudes."""
    ref = 20.0 * np.log10(np.maximum(np.abs(ref_mag), floor))
    est = 20.0 * np.log10(np.maximum(np.abs(est_mag), floor))
    return float(np.mean(np.sqrt(np.mean((ref - est) ** 2, axis=-1))))


def spectral_convergence(ref_mag, est_mag):
    """|| |S| - |S_hat| ||_F / || |S| ||_F (0 is perfect)."""
    ref = np.abs(ref_mag)
    return float(np.linalg.norm(ref - np.abs(est_mag)) / max(np.linalg.norm(ref), 1e-12))


def level_db(x):
    """RMS level of a signal in dB full scale (-inf-safe: floor at -200 dB)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return float(10.0 * np.log10(max(np.mean(x ** 2), 1e-20)))


def full_scale_fraction(x, threshold=0.999):
    """Fraction of samples with |x| >= threshold (clipped or at full scale)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    return float(np.mean(np.abs(x) >= threshold)) if len(x) else 0.0


def long_term_spectrum(x, sr, n_fft=512):
    """Long-term average spectrum: frequencies [n_fft/2 + 1] (Hz) and mean power in dB [n_fft/2 + 1].

    The mean over all frames of |STFT|^2 (Hann window, hop n_fft / 4), so that
    quiet passages count as they do in the signal's level.
    """
    power = np.mean(np.abs(stft(np.asarray(x, dtype=np.float64), n_fft, n_fft // 4)) ** 2, axis=0)
    return np.fft.rfftfreq(n_fft, 1.0 / sr), 10.0 * np.log10(np.maximum(power, 1e-20))


def long_term_spectrum_distance(ref, est, sr, fmin=100.0, fmax=3800.0, n_fft=512):
    """Mean absolute dB difference of two long-term average spectra over [fmin, fmax] Hz."""
    freqs, a = long_term_spectrum(ref, sr, n_fft)
    _, b = long_term_spectrum(est, sr, n_fft)
    band = (freqs >= fmin) & (freqs <= fmax)
    return float(np.mean(np.abs(a[band] - b[band])))


def mel_cepstrum(x, sr, n_mfcc=13, n_mels=40, n_fft=1024, hop_length=None):
    """Mel cepstrum of a signal, [frames, n_mfcc], in the cepstral convention.

    The coefficients satisfy ``ln|X_mel(n)| = c_0 + 2 sum_{k>=1} c_k cos(pi k (n + 1/2) / N)``
    over the N = ``n_mels`` bands (natural log of the mel *amplitude*), exactly when
    ``n_mfcc == n_mels``: the scale the classical MCD formula assumes. (An orthonormal
    DCT of the log power would be 2 sqrt(2N) times larger: about 18x for 40 bands.)
    Frames of 25 ms every ``hop_length`` samples (default 5 ms), Slaney mel filters 0..sr/2,
    band powers floored 100 dB below the signal's peak.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    hop = hop_length or max(1, int(0.005 * sr))
    fb = mel_filterbank(sr, n_fft, n_mels, 0.0, sr / 2.0)
    mag = np.abs(stft(x, n_fft, hop, win_length=min(n_fft, int(0.025 * sr))))
    power = mag ** 2 @ fb.T
    # floor 100 dB below the signal's own peak, so that a gain shifts c0 only
    log_amp = 0.5 * np.log(np.maximum(power, 1e-10 * max(float(power.max(initial=0.0)), 1e-30)))
    return scipy.fft.dct(log_amp, type=2, norm=None, axis=-1)[:, :n_mfcc] / (2.0 * n_mels)


def mel_cepstral_distortion(ref_wav, est_wav, sr, n_mfcc=13, n_fft=1024, hop_length=None):
    """Mel-cepstral distortion in dB over c1..c_{n_mfcc-1} (c0, the level, excluded).

    MCD = (10 / ln 10) sqrt(2 sum_k (c_k - c'_k)^2) with the cepstra of :func:`mel_cepstrum`,
    frames aligned by index, averaged over frames where the reference is above -60 dB
    of its peak energy.
    """
    ref, est = _pair(ref_wav, est_wav)
    hop = hop_length or max(1, int(0.005 * sr))
    c_ref = mel_cepstrum(ref, sr, n_mfcc, n_fft=n_fft, hop_length=hop)
    c_est = mel_cepstrum(est, sr, n_mfcc, n_fft=n_fft, hop_length=hop)
    mag = np.abs(stft(ref, n_fft, hop, win_length=min(n_fft, int(0.025 * sr))))
    energy = 10 * np.log10(np.maximum(np.sum(mag ** 2, axis=-1), 1e-12))
    keep = energy > energy.max() - 60.0
    diff = (c_ref - c_est)[keep, 1:]
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * np.sum(diff ** 2, axis=-1))))


def si_sdr(ref, est):
    """Scale-invariant signal-to-distortion ratio in dB (zero-mean signals)."""
    ref, est = _pair(ref, est)
    ref = ref - ref.mean()
    est = est - est.mean()
    alpha = np.dot(est, ref) / max(np.dot(ref, ref), 1e-12)
    target = alpha * ref
    noise = est - target
    return float(10 * np.log10(max(np.dot(target, target), 1e-12) /
                               max(np.dot(noise, noise), 1e-12)))


def sdr(ref, est, taps=256):
    """SDR in dB with the reference projected through a `taps`-tap filter.

    The distortion-allowed target is the least-squares (Wiener) projection
    of the estimate onto delayed copies of the reference, as in BSS Eval's
    SDR with a 256-tap distortion filter (the separation paper's measure).
    """
    ref, est = _pair(ref, est)
    n = len(ref)
    nfft = int(2 ** np.ceil(np.log2(n + taps - 1)))
    R = np.fft.rfft(ref, nfft)
    E = np.fft.rfft(est, nfft)
    acf = np.fft.irfft(np.abs(R) ** 2, nfft)[:taps]
    xcf = np.fft.irfft(np.conj(R) * E, nfft)[:taps]
    G = scipy.linalg.toeplitz(acf) + 1e-10 * acf[0] * np.eye(taps)
    h = scipy.linalg.solve(G, xcf, assume_a="pos")
    target = np.fft.irfft(np.fft.rfft(h, nfft) * R, nfft)[:n]
    noise = est - target
    return float(10 * np.log10(max(np.dot(target, target), 1e-12) /
                               max(np.dot(noise, noise), 1e-12)))


def _pesq(ref, est, sr, mode):
    ref, est = _pair(ref, est)
    if sr != 16000:
        ref = resample(ref.astype(np.float32), sr, 16000)
        est = resample(est.astype(np.float32), sr, 16000)
    return float(pesq(16000, ref.astype(np.float64), est.astype(np.float64), mode))


def pesq_nb(ref, est, sr):
    """Narrow-band PESQ (ITU-T P.862) at 16 kHz, reference first."""
    return _pesq(ref, est, sr, "nb")


def pesq_wb(ref, est, sr):
    """Wide-band PESQ (ITU-T P.862.2) at 16 kHz, reference first."""
    return _pesq(ref, est, sr, "wb")


def stoi(ref, est, sr, extended=False):
    """Short-time objective intelligibility (pystoi; resamples to 10 kHz itself)."""
    ref, est = _pair(ref, est)
    return float(_pystoi(ref, est, sr, extended=extended))


SPEECH_SR = 16000
F0_HOP = 160   # 10 ms at SPEECH_SR


def f0_track(x, sr, fmin=60.0, fmax=400.0):
    """pYIN F0 every 10 ms (librosa; the signal is resampled to 16 kHz first).

    Args:
        x: 1-D signal at ``sr``.
        fmin, fmax: F0 search range in Hz (60-400 covers adult speech).
    Returns:
        ``(f0, voiced)``: ``[frames]`` F0 in Hz (NaN where unvoiced) and ``[frames]`` bool.
    """
    x = resample(np.asarray(x, dtype=np.float32).ravel(), sr, SPEECH_SR)
    f0, voiced, _ = librosa.pyin(x, fmin=fmin, fmax=fmax, sr=SPEECH_SR, frame_length=1024, hop_length=F0_HOP)
    return f0, voiced


def f0_errors(ref_track, est_track):
    """Pitch errors of a resynthesis against its original, from two :func:`f0_track` results.

    Frames are compared up to the shorter track. Returns a dict of fractions in [0, 1] (None where
    the denominator is empty, e.g. no frame voiced in both):
        ``vde``: voicing decision error, frames whose voiced/unvoiced decisions differ, of all frames;
        ``gpe``: gross pitch error, frames voiced in both whose F0 is off by more than 20 %
            (octave jumps and the like), of the frames voiced in both;
        ``f0_off50``: frames voiced in both whose F0 is off by more than 50 cents (a quarter
            tone: audible as a wrong or wobbling pitch), of the frames voiced in both.
    """
    (f_ref, v_ref), (f_est, v_est) = ref_track, est_track
    n = min(len(v_ref), len(v_est))
    f_ref, v_ref, f_est, v_est = f_ref[:n], v_ref[:n], f_est[:n], v_est[:n]
    both = v_ref & v_est
    ratio = f_est[both] / f_ref[both]
    return {"vde": float(np.mean(v_ref != v_est)) if n else None,
            "gpe": float(np.mean(np.abs(ratio - 1) > 0.2)) if both.any() else None,
            "f0_off50": float(np.mean(np.abs(1200 * np.log2(ratio)) > 50.0)) if both.any() else None}


def dnsmos(x, sr):
    """Non-intrusive DNSMOS (Reddy et al. 2021/2022; `speechmos`, ONNX weights in the wheel).

    Args:
        x: 1-D signal at ``sr`` (resampled to 16 kHz; peak-normalised into [-1, 1] if beyond).
    Returns:
        dict of floats: ``p808`` (ITU-T P.808 MOS), ``sig``, ``bak``, ``ovrl`` (P.835 MOS).
    """
    # Start-up time: speechmos + onnxruntime cost ~0.4 s to import; only evaluation needs them.
    from speechmos import dnsmos as _dnsmos

    x = np.asarray(x, dtype=np.float32).ravel()
    if x.size == 0:
        raise ValueError("cannot score an empty signal")
    x = resample(x, sr, SPEECH_SR)
    peak = float(np.abs(x).max())
    if peak > 1.0:  # speechmos refuses samples beyond [-1, 1]
        x = x / peak
    scores = _dnsmos.run(x, SPEECH_SR)
    return {"p808": float(scores["p808_mos"]), "sig": float(scores["sig_mos"]),
            "bak": float(scores["bak_mos"]), "ovrl": float(scores["ovrl_mos"])}


_VISQOL_API = None


def visqol(reference, degraded, sr):
    """Full-reference ViSQOL v3 MOS-LQO (1..5) in speech mode at 16 kHz (`visqol-python`).

    Both signals are resampled to 16 kHz and trimmed to the shorter; the speech-mode
    deep-lattice mapper is used when its runtime (``visqol-python[lattice]``) is installed.
    The first call in a process also JIT-compiles visqol's kernels (~10 s).
    """
    global _VISQOL_API
    # Start-up time: visqol costs ~1.3 s to import (numba); only evaluation needs it.
    from visqol import VisqolApi

    ref, deg = _pair(reference, degraded)
    ref = resample(ref.astype(np.float32), sr, SPEECH_SR).astype(np.float64)
    deg = resample(deg.astype(np.float32), sr, SPEECH_SR).astype(np.float64)
    if _VISQOL_API is None:
        _VISQOL_API = VisqolApi()
        _VISQOL_API.create(mode="speech")
    return float(_VISQOL_API.measure_from_arrays(ref, deg, SPEECH_SR).moslqo)
