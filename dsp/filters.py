"""First-order pre-emphasis and its exact inverse."""
import numpy as np
from scipy.signal import lfilter


def pre_emphasis(x, coef=0.97, axis=-1):
    """y[n] = x[n] - coef * x[n-1] (x[-1] = 0).

    Args:
        x: array, any shape; filtered along `axis`.
        coef: float, the emphasis coefficient (0.97 ResGAN, 0.95 AudioRNN).
    """
    x = np.asarray(x)
    return lfilter([1.0, -coef], [1.0], x, axis=axis).astype(x.dtype, copy=False)


def de_emphasis(y, coef=0.97, axis=-1):
    """Inverse of `pre_emphasis`: x[n] = y[n] + coef * x[n-1]."""
    y = np.asarray(y)
    return lfilter([1.0], [1.0, -coef], y, axis=axis).astype(y.dtype, copy=False)
