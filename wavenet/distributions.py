"""Output distributions of the WaveNet vocoder: losses and samplers.

Two output heads are supported:

* ``"mulaw256"``: a 256-way softmax over 8-bit µ-law codes. The network emits
  logits ``[batch, time, 256]``; targets are integer codes ``[batch, time]``
  (``dsp.mulaw.mu_law_encode`` of the waveform).
* ``"mol"``: a mixture of ``K`` discretised logistic distributions over
  ``num_classes`` (65536, i.e. 16-bit) evenly spaced amplitude levels in
  [-1, 1]. The network emits ``[batch, time, 3K]`` = (mixture logits, means,
  log scales); targets are float amplitudes ``[batch, time]``.

The Keras losses and samplers use ``keras.ops`` only; the ``np_*`` twins are
used by the incremental (numpy) generator and by the tests as references.
"""
import math

import numpy as np

import keras
from keras import ops

from wavenet.layers import PACKAGE

LOG_SCALE_MIN = -7.0
NUM_CLASSES_16BIT = 65536


def _squeeze_last(y):
    if len(y.shape) == 3 and y.shape[-1] == 1:
        return ops.squeeze(y, -1)
    return y


# ---------------------------------------------------------------- mixture of logistics
def mol_log_prob(y, params, n_mixtures, num_classes=NUM_CLASSES_16BIT, log_scale_min=LOG_SCALE_MIN):
    """Log-probability of amplitudes ``y`` under a discretised logistic mixture.

    Args:
        y: float tensor ``[...]`` in [-1, 1] (a trailing axis of 1 is squeezed).
        params: float tensor ``[..., 3 * n_mixtures]`` (logits, means, log scales).
        n_mixtures: int, number of components K.
        num_classes: int, number of amplitude levels (bin centres
            ``-1 + 2 i / (num_classes - 1)``), 65536 for 16-bit audio.
        log_scale_min: float, lower clamp of the log scales.

    Returns:
        ``[...]`` log-probability of the bin containing each ``y``.
    """
    k = n_mixtures
    y = ops.cast(_squeeze_last(y), params.dtype)
    logit_probs = params[..., :k]
    means = params[..., k:2 * k]
    log_scales = ops.maximum(params[..., 2 * k:3 * k], log_scale_min)
    y = ops.expand_dims(y, -1)
    half_bin = 1.0 / (num_classes - 1)
    centered = y - means
    inv_scale = ops.exp(-log_scales)
    plus_in = inv_scale * (centered + half_bin)
    min_in = inv_scale * (centered - half_bin)
    log_cdf_plus = plus_in - ops.softplus(plus_in)          # log sigmoid(plus_in): lowest bin
    log_one_minus_cdf_min = -ops.softplus(min_in)           # log(1 - sigmoid(min_in)): highest bin
    cdf_delta = ops.sigmoid(plus_in) - ops.sigmoid(min_in)
    mid_in = inv_scale * centered
    # When the bin mass underflows in float32, use density x bin width instead.
    log_pdf_mid = mid_in - log_scales - 2.0 * ops.softplus(mid_in)
    log_mass_approx = log_pdf_mid + math.log(2.0 * half_bin)
    inner = ops.where(cdf_delta > 1e-5, ops.log(ops.maximum(cdf_delta, 1e-12)), log_mass_approx)
    log_probs = ops.where(y < -1.0 + half_bin, log_cdf_plus,
                          ops.where(y > 1.0 - half_bin, log_one_minus_cdf_min, inner))
    log_probs = log_probs + ops.log_softmax(logit_probs, axis=-1)
    return ops.logsumexp(log_probs, axis=-1)


def sample_mol(params, n_mixtures, temperature=1.0, seed=None, log_scale_min=LOG_SCALE_MIN):
    """Draw amplitudes from a logistic mixture (keras.ops).

    The component is chosen by the Gumbel-max trick on the mixture logits, then a
    logistic sample ``mean + temperature * scale * logit(u)`` is clipped to [-1, 1]
    (temperature 0 returns the chosen component's mean).

    Args:
        params: ``[..., 3K]``.
        n_mixtures: K.
        temperature: float >= 0.
        seed: int or ``keras.random.SeedGenerator``.

    Returns:
        ``[...]`` float amplitudes.
    """
    k = n_mixtures
    if isinstance(seed, int) or seed is None:
        seed = keras.random.SeedGenerator(seed if seed is not None else 0)
    logits = params[..., :k]
    u = keras.random.uniform(ops.shape(logits), minval=1e-5, maxval=1.0 - 1e-5, seed=seed)
    choice = ops.argmax(logits - ops.log(-ops.log(u)), axis=-1)
    one_hot = ops.one_hot(choice, k, dtype=params.dtype)
    means = ops.sum(params[..., k:2 * k] * one_hot, axis=-1)
    log_scales = ops.maximum(ops.sum(params[..., 2 * k:3 * k] * one_hot, axis=-1), log_scale_min)
    u2 = keras.random.uniform(ops.shape(means), minval=1e-5, maxval=1.0 - 1e-5, seed=seed)
    x = means + temperature * ops.exp(log_scales) * (ops.log(u2) - ops.log(1.0 - u2))
    return ops.clip(x, -1.0, 1.0)


def np_sample_mol(params, n_mixtures, temperature, rng, log_scale_min=LOG_SCALE_MIN):
    """Numpy twin of :func:`sample_mol` for ``params [batch, 3K]`` -> ``[batch]``."""
    k = n_mixtures
    logits = params[:, :k]
    u = rng.uniform(1e-5, 1.0 - 1e-5, size=logits.shape)
    choice = np.argmax(logits - np.log(-np.log(u)), axis=-1)
    rows = np.arange(params.shape[0])
    means = params[rows, k + choice]
    log_scales = np.maximum(params[rows, 2 * k + choice], log_scale_min)
    u2 = rng.uniform(1e-5, 1.0 - 1e-5, size=means.shape)
    x = means + temperature * np.exp(log_scales) * (np.log(u2) - np.log1p(-u2))
    return np.clip(x, -1.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------- 256-way softmax
def sample_categorical(logits, temperature=1.0, seed=None):
    """Draw class indices from logits ``[..., C]`` (keras.ops); temperature 0 = argmax."""
    if temperature == 0:
        return ops.argmax(logits, axis=-1)
    if isinstance(seed, int) or seed is None:
        seed = keras.random.SeedGenerator(seed if seed is not None else 0)
    u = keras.random.uniform(ops.shape(logits), minval=1e-7, maxval=1.0 - 1e-7, seed=seed)
    return ops.argmax(logits / temperature - ops.log(-ops.log(u)), axis=-1)


def np_sample_categorical(logits, temperature, rng):
    """Numpy twin of :func:`sample_categorical` for ``logits [batch, C]`` -> ``[batch]`` int."""
    if temperature == 0:
        return np.argmax(logits, axis=-1)
    return np.argmax(logits / temperature + rng.gumbel(size=logits.shape), axis=-1)   # Gumbel-max


# ---------------------------------------------------------------- Keras losses
@keras.saving.register_keras_serializable(package=PACKAGE)
class MuLawCrossEntropy(keras.losses.Loss):
    """Cross-entropy of integer µ-law codes ``[batch, time]`` (or ``[..., 1]``) against logits
    ``[batch, time, 256]``."""

    def __init__(self, name="mulaw_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        codes = ops.cast(_squeeze_last(y_true), "int32")
        return ops.sparse_categorical_crossentropy(codes, y_pred, from_logits=True)


@keras.saving.register_keras_serializable(package=PACKAGE)
class MixtureLogisticLoss(keras.losses.Loss):
    """Negative log-likelihood of float amplitudes under a discretised logistic mixture.

    Args:
        n_mixtures: int, K (the prediction has 3K channels).
        num_classes: int, amplitude levels (65536 = 16 bit).
        log_scale_min: float, clamp of the log scales.
    """

    def __init__(self, n_mixtures=10, num_classes=NUM_CLASSES_16BIT, log_scale_min=LOG_SCALE_MIN,
                 name="mixture_logistic_nll", **kwargs):
        super().__init__(name=name, **kwargs)
        self.n_mixtures = int(n_mixtures)
        self.num_classes = int(num_classes)
        self.log_scale_min = float(log_scale_min)

    def call(self, y_true, y_pred):
        return -mol_log_prob(y_true, y_pred, self.n_mixtures, self.num_classes, self.log_scale_min)

    def get_config(self):
        config = super().get_config()
        config.update(n_mixtures=self.n_mixtures, num_classes=self.num_classes,
                      log_scale_min=self.log_scale_min)
        return config
