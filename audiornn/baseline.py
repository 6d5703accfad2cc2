"""Baselines for the next-code prediction task, scored like the network.

* Linear prediction: the next (pre-emphasised, mu-law decoded) sample is
  predicted from the previous `order` samples by least squares on training
  windows.  The error is modelled in the companded (mu-law) domain, where
  the codes are equal-width intervals and a fixed error scale means a fixed
  *relative* error (a single scale in the linear domain would be far too
  wide in quiet passages and too narrow in loud ones): a Laplacian centred
  on the companded prediction (scale = mean |companded residual| on the
  training fit), integrated over each code's interval, gives a distribution
  over the 256 codes.  Accuracy is its argmax, cross-entropy -log2 p(true code).
* Unigram: the training histogram of codes (add-one smoothed), ignoring context.

Both are evaluated on exactly the validation windows the network is scored on.
"""
import numpy as np

from audiornn.AudioRNNData import decode_codes
from dsp.mulaw import mu_law_compress


def compand(x, mu=255):
    """mu-law companding f(x) in [-1, 1]; code c = rint((f + 1) / 2 * 255) for both variants."""
    return mu_law_compress(x, mu)


def code_edges():
    """Interval edges [257] in the companded domain: code c covers [e[c], e[c+1])."""
    mid = (np.arange(1, 256) - 0.5) / 255.0 * 2.0 - 1.0
    return np.concatenate([[-np.inf], mid, [np.inf]])


def _laplace_cdf(x, scale):
    return np.where(x < 0, 0.5 * np.exp(np.minimum(x, 0) / scale),
                    1.0 - 0.5 * np.exp(-np.maximum(x, 0) / scale))


def _contexts(codes, starts, timesteps, order, mu):
    """Last `order` decoded samples of each window [n, order] and its target code [n]."""
    idx = starts[:, None] + np.arange(timesteps - order, timesteps)[None, :]
    return decode_codes(codes[idx], mu=mu).astype(np.float64), codes[starts + timesteps]


class LinearPredictionBaseline:
    """Least-squares linear predictor with a discretised Laplacian residual.

    Args:
        order: int, number of past samples used (<= timesteps).
        mu: mu-law variant of the codes.
    """

    def __init__(self, order=16, mu=255):
        self.order, self.mu = int(order), int(mu)
        self.edges = code_edges()

    def fit(self, codes, starts, timesteps):
        X, y = _contexts(codes, np.asarray(starts), timesteps, self.order, self.mu)
        target = decode_codes(y, mu=self.mu).astype(np.float64)
        self.coef, *_ = np.linalg.lstsq(X, target, rcond=None)
        residual = compand(target, self.mu) - compand(X @ self.coef, self.mu)
        self.scale = max(float(np.mean(np.abs(residual))), 1e-6)
        return self

    def probabilities(self, codes, starts, timesteps):
        """p(code) [n, 256] for the windows at `starts`, and the true codes [n]."""
        X, y = _contexts(codes, np.asarray(starts), timesteps, self.order, self.mu)
        mean = compand(X @ self.coef, self.mu)
        cdf = _laplace_cdf(self.edges[None, :] - mean[:, None], self.scale)
        p = np.maximum(np.diff(cdf, axis=1), 1e-12)
        return p / p.sum(axis=1, keepdims=True), y


def score(probs, y):
    """(accuracy, cross-entropy in bits per sample) of probabilities [n, 256]."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    p_true = np.maximum(probs[np.arange(len(y)), y], 1e-12)
    return float(np.mean(np.argmax(probs, axis=1) == y)), float(np.mean(-np.log2(p_true)))


def unigram(train_codes):
    """Add-one smoothed code histogram [256] of the training samples."""
    counts = np.bincount(np.asarray(train_codes, dtype=np.int64), minlength=256) + 1.0
    return counts / counts.sum()
