"""Mu-law companding with integer codes in [0, mu]."""
import numpy as np


def mu_law_compress(x, mu=255):
    """Continuous mu-law companding f(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu), in [-1, 1]."""
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
    return np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)


def mu_law_encode(x, mu=255):
    """Compress x in [-1, 1] to integer codes 0..mu (clipped outside).

    The code for sample x is round((f(x) + 1) / 2 * mu) with
    f(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu); librosa.mu_compress(quantize=True)
    returns the same codes shifted by -(mu + 1) / 2.

    Args:
        x: float array [...].
        mu: int, 255 for 256 codes.
    Returns:
        int64 array [...] of codes in [0, mu].
    """
    return np.rint((mu_law_compress(x, mu) + 1.0) / 2.0 * mu).astype(np.int64)


def mu_law_decode(codes, mu=255):
    """Expand integer codes 0..mu back to floats in [-1, 1] (float32)."""
    f = 2.0 * np.asarray(codes, dtype=np.float64) / mu - 1.0
    x = np.sign(f) * np.expm1(np.abs(f) * np.log1p(mu)) / mu
    return x.astype(np.float32)
