"""ResGAN MFCC analysis and its inversion to an all-pole envelope.

The algorithm of get_mfcc.py (ResGAN, ICASSP 2018), vectorised over frames:

1. pre-emphasis 1 - 0.97 z^-1; n_frames = ceil(len / hop), frame t centred
   on sample t*hop (reflect padding);
2. |STFT| with a Hann window of win_length zero-padded to nfft, floored at
   1e-9; frame energy = 10 log10 sum |X|^2;
3. 24 triangular HTK-mel filters over 0..fs/2, each of unit area;
   log filterbank energies 20 log10(M |X|);
4. orthonormal DCT-II, first 20 coefficients; c0 := frame energy in dB;
5. inversion: truncated inverse DCT (pseudo-inverse), 10^(x/20),
   pseudo-inverse of the filterbank, floor at 1e-9;
6. order-30 all-pole fit: autocorrelation = inverse FFT of the squared
   magnitude, Levinson-Durbin;
7. line spectral frequencies in (0, pi).
"""
import functools
from dataclasses import asdict, dataclass

import numpy as np

from dsp.filters import pre_emphasis
from dsp.lpc import lpc_envelope, lpc_from_power, lsf_to_poly, poly_to_lsf
from dsp.spectral import mel_filterbank, stft_blocks

FLOOR = 1e-9
BLOCK_FRAMES = 2048  # ~10 s at a 5 ms hop: a few MB per temporary


@dataclass(frozen=True)
class MfccConfig:
    """Analysis settings (get_mfcc.py's flags, same names and defaults)."""

    sample_rate: int = 16000
    win_length: int = 480
    hop_size: int = 80
    lsf_order: int = 30
    mel_filters: int = 24
    mfcc_order: int = 20
    nfft: int = 1024
    preemphasis: float = 0.97

    def validate(self):
        if self.win_length > self.nfft:
            raise ValueError(f"win_length {self.win_length} exceeds nfft {self.nfft}")
        if self.mfcc_order > self.mel_filters:
            raise ValueError(f"mfcc_order {self.mfcc_order} exceeds mel_filters "
                             f"{self.mel_filters}")
        if self.lsf_order % 2 or self.lsf_order < 2:
            raise ValueError(f"lsf_order must be even and >= 2, got {self.lsf_order}")
        if self.hop_size < 1 or self.sample_rate < 1:
            raise ValueError("hop_size and sample_rate must be positive")
        return self

    def to_dict(self):
        return asdict(self)


@dataclass
class MfccAnalysis:
    """Result of `analyze`: every array has n_frames rows."""

    mfcc: np.ndarray        # [n_frames, mfcc_order], c0 = energy in dB
    lsf: np.ndarray         # [n_frames, lsf_order], radians
    energy_db: np.ndarray   # [n_frames]
    magnitude: np.ndarray   # [n_frames, nfft//2 + 1] of the pre-emphasised speech


def dct_matrix(n):
    """Orthonormal DCT-II matrix [n, n]: dct_matrix(n) @ v == scipy.fft.dct(v, norm="ortho").

    Built with numpy: scipy.fft would cost get_mfcc.py 0.2-0.3 s of start-up.
    """
    k = np.arange(n)[:, None]
    m = np.arange(n)[None, :]
    d = np.cos(np.pi * k * (2 * m + 1) / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


@functools.lru_cache(maxsize=8)
def _matrices(cfg):
    """Filterbank, its pseudo-inverse and the truncated DCT pair for cfg."""
    fb = mel_filterbank(cfg.sample_rate, cfg.nfft, cfg.mel_filters, 0.0,
                        cfg.sample_rate / 2.0, htk=True, norm="area")
    fb_pinv = np.linalg.pinv(fb)
    dct = dct_matrix(cfg.mel_filters)[:cfg.mfcc_order]  # [mfcc_order, mel_filters]
    idct = np.linalg.pinv(dct)            # [mel_filters, mfcc_order] = dct.T
    return fb, fb_pinv, dct, idct


def n_frames_for(n_samples, hop_size):
    """ceil(len / hop): the number of analysis frames for a signal."""
    return int(-(-int(n_samples) // int(hop_size)))


def analyze(x, cfg=MfccConfig(), block_frames=BLOCK_FRAMES):
    """MFCCs and LSFs of a mono signal at cfg.sample_rate.

    Args:
        x: float array [n] (already at cfg.sample_rate).
        cfg: MfccConfig.
        block_frames: frames analysed at once (frames are independent: the
            result depends on it only in the last bit of a float32, through
            the blocking of matrix products); blocks keep temporaries small.
    Returns:
        MfccAnalysis with n_frames = ceil(n / hop_size).
    """
    cfg.validate()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a mono signal, got shape {x.shape}")
    n_frames = n_frames_for(len(x), cfg.hop_size)
    mfcc = np.empty((n_frames, cfg.mfcc_order))
    lsf = np.empty((n_frames, cfg.lsf_order))
    energy_db = np.empty(n_frames)
    magnitude = np.empty((n_frames, cfg.nfft // 2 + 1), dtype=np.float32)
    # float32 spectra: features need ~1e-6 relative precision, and it halves
    # the memory traffic of the dominant STFT step
    y = pre_emphasis(x, cfg.preemphasis).astype(np.float32)
    for t0, spec in stft_blocks(y, cfg.nfft, cfg.hop_size, cfg.win_length, n_frames=n_frames,
                                block_frames=block_frames):
        t = slice(t0, t0 + spec.shape[0])
        mag = np.abs(spec, out=magnitude[t])
        np.maximum(mag, np.float32(FLOOR), out=mag)
        _frame_features(mag, cfg, mfcc[t], energy_db[t])
        lsf[t] = mfcc_to_lsf(mfcc[t], cfg)
    return MfccAnalysis(mfcc.astype(np.float32), lsf.astype(np.float32),
                        energy_db.astype(np.float32), magnitude)


def _frame_features(mag, cfg, mfcc, energy_db):
    """Fill mfcc [frames, mfcc_order] and energy_db [frames] from |X| [frames, bins]."""
    # sum of squares in float64 without a float64 copy of the spectrogram
    energy_db[:] = 10.0 * np.log10(np.einsum("ij,ij->i", mag, mag, dtype=np.float64))
    fb, _, dct, _ = _matrices(cfg)
    log_mel = 20.0 * np.log10(np.maximum(mag @ fb.T.astype(np.float32), FLOOR))
    mfcc[:] = log_mel.astype(np.float64) @ dct.T
    mfcc[:, 0] = energy_db


def mfcc_to_magnitude(mfcc, cfg=MfccConfig()):
    """Smoothed magnitude spectrum [..., nfft//2+1] from MFCCs (steps 5).

    c0 holds the frame energy in dB, not the DCT's c0, so the level of this
    spectrum is arbitrary; its shape (and the LSFs) do not depend on it.
    """
    _, fb_pinv, _, idct = _matrices(cfg)
    log_mel = np.asarray(mfcc, dtype=np.float64) @ idct.T
    # centre the level: avoids overflow of 10^(x/20) for large c0 values
    log_mel = log_mel - log_mel.max(axis=-1, keepdims=True)
    mel = 10.0 ** (log_mel / 20.0)
    mag = mel @ fb_pinv.T
    return np.maximum(mag, FLOOR, out=mag)


def mfcc_to_lpc(mfcc, cfg=MfccConfig()):
    """All-pole inverse filters [..., lsf_order+1] fitted to the MFCC spectrum."""
    power = mfcc_to_magnitude(mfcc, cfg)
    power *= power  # in place: the spectrum is [frames, bins] float64
    a, _ = lpc_from_power(power, cfg.lsf_order)
    return a


def mfcc_to_lsf(mfcc, cfg=MfccConfig()):
    """LSFs [..., lsf_order] (radians, increasing in (0, pi)) from MFCCs."""
    return poly_to_lsf(mfcc_to_lpc(mfcc, cfg))


def lsf_to_envelope(lsf, n_fft, gain=1.0):
    """All-pole magnitude envelope gain/|A| [..., n_fft//2+1] from LSFs."""
    return lpc_envelope(lsf_to_poly(lsf), n_fft, gain)


def mfcc_to_envelope(mfcc, cfg=MfccConfig()):
    """All-pole magnitude envelope [..., nfft//2+1] at the frame's energy.

    The envelope's energy sum |H|^2 over the one-sided bins equals
    10^(c0/10), i.e. the analysed frame energy (of the pre-emphasised,
    windowed speech), so filtering a unit-energy excitation frame by it
    gives the right level.
    """
    mfcc = np.asarray(mfcc, dtype=np.float64)
    env = lpc_envelope(mfcc_to_lpc(mfcc, cfg), cfg.nfft)
    energy = np.sum(env ** 2, axis=-1, keepdims=True)
    target = 10.0 ** (mfcc[..., :1] / 10.0)
    return env * np.sqrt(target / energy)
