"""LPC noise shaping: the WaveNet models the LPC residual of the waveform (numpy/scipy; no Keras).

Mel-cepstrum / LPC based quantisation-noise shaping (Tachibana et al. 2018; Yoshimura et al.
2018; LPCNet's idea of letting a linear predictor carry the spectral envelope): a time-varying
all-pole filter ``1/A(z)`` is computed from the conditioning log-mel itself (`lpc_from_mel`),
so it is available at synthesis. Training whitens the waveform with ``A(z)`` frame by frame
(`whiten`); the network learns the flatter excitation, and the generated excitation is
filtered back by ``1/A(z)`` (`shape`), so the envelope comes from the mel and the network's
errors (µ-law quantisation, sampling noise) are shaped under the speech spectrum instead of
being white.

Frame ``f`` of a `wavenet.features.log_mel` conditions samples ``f*hop ... (f+1)*hop - 1``; its
filter is applied to exactly those samples, the filter's memory carried across block edges.

Example:
    >>> a = lpc_from_mel(mel, cfg)            # [frames, order+1]
    >>> e = whiten(x, a, cfg.hop)             # training target / input
    >>> y = shape(e, a, cfg.hop)              # == x (to rounding)
"""
import numpy as np

from dsp.filters import block_allpole, block_fir
from dsp.lpc import is_minimum_phase, lpc_from_power
from dsp.spectral import mel_filterbank
from wavenet.features import mel_magnitude

# White-noise correction: a floor of this fraction of each frame's mean power (-40 dB), so deep
# valleys of the inverted mel do not ask the predictor for infinite gain (the usual r[0] *= 1 + eps).
NOISE_FLOOR = 1e-4
# Gradient steps of the mel filterbank's non-negative least-squares inverse: the order-16 envelope of
# 10 steps is within 0.002 nepers (rms) of 100 steps' on LJSpeech, at a tenth of the cost.
NNLS_STEPS = 10


def lpc_from_mel(mel, cfg):
    """Per-frame inverse filters ``A(z)`` of the spectral envelope a log-mel describes.

    The power spectrum is ``wavenet.features.mel_magnitude(mel, cfg) ** 2``; the bins below
    ``mel_fmin`` and above ``mel_fmax``, which no mel filter covers (they come back as 0), take
    the level of the nearest covered bin (else the predictor would boost whatever the audio has
    there by the full floor depth), plus a ``NOISE_FLOOR`` white-noise correction. It is fitted
    by ``dsp.lpc.lpc_from_power`` of order ``cfg.lpc_order``, then bandwidth-expanded
    ``a_k *= cfg.lpc_gamma ** k`` (poles pulled towards the origin: stays minimum phase and
    only partly whitens). A frame whose filter is not finite or not minimum phase
    (``dsp.lpc.is_minimum_phase``) gets ``A(z) = 1``.

    Args:
        mel: ``[frames, n_mels]`` normalised log-mel in [0, 1] (`wavenet.features.log_mel`).
        cfg: a `wavenet.model.WaveNetConfig` (the mel analysis fields, ``lpc_order``, ``lpc_gamma``).
    Returns:
        ``a``: float64 ``[frames, lpc_order + 1]`` with ``a[:, 0] == 1``.
    """
    mel = np.asarray(mel, np.float64)
    if mel.ndim != 2 or mel.shape[1] != cfg.n_mels:
        raise ValueError(f"mel must be [frames, {cfg.n_mels}], got shape {mel.shape}")
    order = int(cfg.lpc_order)
    covered = np.flatnonzero(mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.mel_fmin,
                                            cfg.mel_fmax).sum(axis=0) > 0)
    power = mel_magnitude(mel, cfg, n_iter=NNLS_STEPS) ** 2
    if len(covered):
        lo, hi = covered[0], covered[-1]
        power[:, :lo] = power[:, lo:lo + 1]
        power[:, hi + 1:] = power[:, hi:hi + 1]
    power = power + NOISE_FLOOR * power.mean(axis=-1, keepdims=True)
    with np.errstate(all="ignore"):
        a, _ = lpc_from_power(power, order)
        a = a * float(cfg.lpc_gamma) ** np.arange(order + 1)
    flat = np.zeros(order + 1)
    flat[0] = 1.0
    a[~np.all(np.isfinite(a), axis=-1)] = flat
    if len(a):
        a[~is_minimum_phase(a)] = flat
    return a


def _check(signal, a, hop):
    a = np.asarray(a, np.float64)
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"a must be [frames, order+1], got shape {a.shape}")
    signal = np.asarray(signal, np.float64)
    if signal.ndim != 1 or len(signal) > len(a) * hop:
        raise ValueError(f"signal must be 1-D with at most frames*hop = {len(a) * hop} samples, "
                         f"got shape {signal.shape}")
    return signal, a


def whiten(x, a, hop):
    """FIR ``A(z)`` per block of ``hop`` samples: ``e[n] = sum_k a_f[k] x[n-k]``, ``f = n // hop``.

    The history ``x[n-k]`` reaches across block edges (zeros before the start);
    `dsp.filters.block_fir`.

    Args:
        x: waveform ``[T]`` with ``T <= frames * hop`` (normally ``frames * hop``).
        a: ``[frames, order+1]`` inverse filters (`lpc_from_mel`).
        hop: samples per frame.
    Returns:
        residual ``e`` float64 ``[T]``.
    """
    return block_fir(*_check(x, a, hop), hop)


def shape(e, a, hop):
    """All-pole ``1/A(z)`` per block of ``hop`` samples: the exact inverse of `whiten`
    (`dsp.filters.block_allpole`).

    Args:
        e: residual ``[T]`` with ``T <= frames * hop``.
        a: ``[frames, order+1]`` inverse filters with ``a[:, 0] == 1``.
        hop: samples per frame.
    Returns:
        waveform ``x`` float64 ``[T]``.
    """
    return block_allpole(*_check(e, a, hop), hop)


def shape_batch(wavs, mels, cfg):
    """Generated residuals -> waveforms: `waveform_of` each row with its own mel.

    Args:
        wavs: ``[B, T]`` generated excitation (``T <= frames * cfg.hop``).
        mels: ``[B, frames, n_mels]`` the mels it was generated from.
        cfg: a `wavenet.model.WaveNetConfig` with ``noise_shaping`` on.
    Returns:
        float32 ``[B, T]`` in [-1, 1].
    """
    out = np.empty(np.shape(wavs), np.float32)
    for b, (e, mel) in enumerate(zip(wavs, mels)):
        out[b] = waveform_of(e, mel, cfg)
    return out


def waveform_of(e, mel, cfg):
    """A residual back to audio: ``shape(e, lpc_from_mel(mel), hop)`` clipped to [-1, 1] (`residual_of`'s inverse).

    Args:
        e: residual ``[T]`` (``T <= frames * cfg.hop``); mel: ``[frames, n_mels]``.
    Returns:
        float32 ``[T]``.
    """
    return np.clip(shape(e, lpc_from_mel(mel, cfg), cfg.hop), -1.0, 1.0).astype(np.float32)


def residual_of(x, mel, cfg):
    """The training signal of a noise-shaped vocoder: ``whiten(x, lpc_from_mel(mel), hop)`` clipped to [-1, 1].

    Args:
        x: waveform ``[frames * cfg.hop]``; mel: its ``[frames, n_mels]`` log-mel.
    Returns:
        float32 ``[frames * cfg.hop]``.
    """
    return np.clip(whiten(x, lpc_from_mel(mel, cfg), cfg.hop), -1.0, 1.0).astype(np.float32)
