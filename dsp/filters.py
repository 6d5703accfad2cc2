"""First-order pre-emphasis and its exact inverse, and a DC blocker.

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


def dc_block(x, sr, cutoff=40.0, axis=-1):
    """First-order DC-blocking high-pass: y[n] = x[n] - x[n-1] + r y[n-1], r = exp(-2 pi cutoff / sr).

    For generated audio that goes through `de_emphasis`: the inverse filter
    multiplies a small bias of the generated (pre-emphasised) samples by
    1 / (1 - coef), e.g. 20 for 0.95, into an offset that this removes (gain
    -3 dB at `cutoff`, below the speech band).
    """
    from scipy.signal import lfilter

    r = float(np.exp(-2.0 * np.pi * cutoff / sr))
    x = np.asarray(x)
    return lfilter([1.0, -1.0], [1.0, -r], x, axis=axis).astype(x.dtype, copy=False)
