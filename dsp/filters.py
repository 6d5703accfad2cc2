"""First-order pre-emphasis and its exact inverse, a DC blocker, and time-varying
FIR / all-pole filters (one set of coefficients per block of samples).

Pre-emphasis is a two-tap FIR filter, written in numpy so that the analysis
path (get_mfcc.py) never imports scipy.signal, which alone costs 1-2 s of
start-up (it pulls in scipy.stats).
"""
import numpy as np


def pre_emphasis(x, coef=0.97, axis=-1):
    """y[n] = x[n] - coef * x[n-1] (x[-1] = 0).

    Args:
        x: array, any shape; filtered along `axis`.
        coef: float, the emphasis coefficient (0.97 ResGAN, 0.95 AudioRNN).
    Returns:
        array of x's shape and dtype (computed in float64, bit-identical to
        scipy.signal.lfilter([1, -coef], [1], x)).
    """
    x = np.asarray(x)
    work = np.moveaxis(x.astype(np.result_type(x.dtype, np.float64), copy=False), axis, -1)
    y = work.copy()
    y[..., 1:] -= coef * work[..., :-1]
    return np.moveaxis(y, -1, axis).astype(x.dtype, copy=False)


def de_emphasis(y, coef=0.97, axis=-1):
    """Inverse of `pre_emphasis`: x[n] = y[n] + coef * x[n-1]."""
    # Start-up time: scipy.signal costs 1-2 s to import and only synthesis
    # paths need this recursive filter, so get_mfcc.py's analysis does not pay it.
    from scipy.signal import lfilter

    y = np.asarray(y)
    return lfilter([1.0], [1.0, -coef], y, axis=axis).astype(y.dtype, copy=False)



def dc_block(x, sr, cutoff=50.0, axis=-1):
    """Second-order Butterworth high-pass at `cutoff` Hz (-3 dB there): removes DC and drift.

    For synthesised audio that goes through `de_emphasis`: the inverse filter
    multiplies whatever lies near DC by 1 / (1 - coef) (x20 for 0.95, +30 dB
    for 0.97), e.g. a small bias of generated samples, into an offset.

    Args:
        x: array; filtered along `axis`.
        sr: sample rate in Hz.
        cutoff: float, Hz, below the speech band.
    Returns:
        array of x's shape and dtype.
    """
    from scipy.signal import butter, sosfilt

    x = np.asarray(x)
    sos = butter(2, cutoff, btype="highpass", fs=sr, output="sos")
    return sosfilt(sos, x, axis=axis).astype(x.dtype, copy=False)


def block_fir(x, a, block):
    """Time-varying FIR: ``y[n] = sum_k a_b[k] x[n-k]`` with ``b = n // block``.

    The history ``x[n-k]`` reaches across block edges (zeros before the start):
    e.g. the LPC residual of speech with one inverse filter ``A(z)`` per block.

    Args:
        x: float ``[T]`` with ``T <= len(a) * block``.
        a: ``[blocks, order + 1]`` coefficients, one row per block.
        block: samples per block.
    Returns:
        float64 ``[T]``.
    """
    x = np.asarray(x, np.float64)
    a = np.asarray(a, np.float64)
    p = a.shape[1] - 1
    past = np.lib.stride_tricks.sliding_window_view(np.concatenate([np.zeros(p), x]), p + 1)[:, ::-1]
    coef = np.repeat(a, block, axis=0)[:len(x)]                     # [T, p + 1]: a_b of each sample
    return np.einsum("nk,nk->n", past, coef)


def block_allpole(e, a, block):
    """Time-varying all-pole ``1/A(z)``: the exact inverse of `block_fir`.

    ``x[n] = (e[n] - sum_{k>=1} a_b[k] x[n-k]) / a_b[0]``; each block is one
    ``scipy.signal.lfilter`` call whose initial state is rebuilt from the
    previous *outputs* for that block's filter (carrying lfilter's own state
    across a change of coefficients would not be the same recursion).

    Args:
        e: float ``[T]`` with ``T <= len(a) * block``.
        a: ``[blocks, order + 1]`` denominators, ``a[:, 0] != 0``.
        block: samples per block.
    Returns:
        float64 ``[T]``.
    """
    from scipy.signal import lfilter, lfiltic

    e = np.asarray(e, np.float64)
    a = np.asarray(a, np.float64)
    p = a.shape[1] - 1
    x = np.zeros(p + len(e))          # p zeros of history, then the output
    for b in range(-(-len(e) // block)):
        s = slice(p + b * block, p + min((b + 1) * block, len(e)))
        if p == 0 or not np.any(a[b, 1:]):
            x[s] = e[s.start - p:s.stop - p] / a[b, 0]
            continue
        zi = lfiltic([1.0], a[b], x[s.start - p:s.start][::-1])
        x[s], _ = lfilter([1.0], a[b], e[s.start - p:s.stop - p], zi=zi)
    return x[p:]
