"""Spectral losses of the CNN vocoder, computed in the graph with ``keras.ops``.

Both waveforms ``[batch, samples]`` (20736-sample segments in training) are
zero-padded by ``pad`` = 1024 samples on each side and analysed with a Hann
window of 1024 in an FFT of 2048, hop 256 (``keras.ops.stft`` with
``center=False``: the explicit zero padding replaces the reflect padding and
keeps the first and last frames well defined).  With M = |STFT|:

- ``log_mag_all``: mean |log(M_pred + eps) - log(M_true + eps)| over all bins
- ``log_mag_low``: the same over bins 0..low_bins-1 (500: 0 to ~5.4 kHz)
- ``lin_mag_low``: mean |M_pred - M_true| over bins 0..low_bins-1
- ``spectral_convergence`` (optional, weight ``sc_weight``):
  ||M_true - M_pred||_F / ||M_true||_F per example, averaged.

``SpectralLoss`` returns the weighted sum; the module-level functions with the
same names are registered metrics so that ``fit`` logs every term
(CSV + TensorBoard).
"""
import keras
from keras import ops

PACKAGE = "cnnvocoder"
LOG_EPS = 1e-5
_MAG_EPS = 1e-10


def stft_magnitude(x, win_length=1024, hop_length=256, n_fft=2048, pad=1024):
    """|STFT| of ``x`` ``[batch, samples]`` -> ``[batch, frames, n_fft//2+1]``.

    frames = 1 + (samples + 2 pad - n_fft) // hop (82 for 20736 samples).
    """
    x = ops.convert_to_tensor(x)
    if pad:
        x = ops.pad(x, [[0, 0], [pad, pad]])
    re, im = ops.stft(x, win_length, hop_length, n_fft, window="hann", center=False)
    return ops.sqrt(re * re + im * im + _MAG_EPS)


def loss_terms(y_true, y_pred, low_bins=500, per_example=False, **stft_kwargs):
    """Dict of the individual loss terms for waveforms [batch, n].

    Args:
        per_example: False: each term a scalar (the mean over the batch); True: each a
            ``[batch]`` vector (every example has the same number of frames and bins, so
            its mean is the scalar).
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    mt = stft_magnitude(y_true, **stft_kwargs)
    mp = stft_magnitude(y_pred, **stft_kwargs)
    log_diff = ops.abs(ops.log(mp + LOG_EPS) - ops.log(mt + LOG_EPS))
    num = ops.sqrt(ops.sum(ops.square(mt - mp), axis=(1, 2)))
    den = ops.sqrt(ops.sum(ops.square(mt), axis=(1, 2))) + 1e-7
    axes = (1, 2) if per_example else None
    return {
        "log_mag_all": ops.mean(log_diff, axis=axes),
        "log_mag_low": ops.mean(log_diff[:, :, :low_bins], axis=axes),
        "lin_mag_low": ops.mean(ops.abs(mp - mt)[:, :, :low_bins], axis=axes),
        "spectral_convergence": num / den if per_example else ops.mean(num / den),
    }


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpectralLoss(keras.losses.Loss):
    """Sum of the STFT loss terms between target and predicted waveforms.

    Args:
        low_bins: int, default 500. Bins used by the low-band terms.
        sc_weight: float, default 0.0. Weight of the spectral-convergence term.
        win_length, hop_length, n_fft, pad: STFT of the loss (1024, 256,
            2048, 1024).

    Shapes: ``y_true``, ``y_pred``: ``[batch, samples]`` -> scalar. ``call`` gives one
    value per example, which Keras averages over the batch: under `tf.distribute` it then
    also divides by the replicas in sync (Keras leaves a scalar from ``call`` unscaled, so
    the replicas' summed gradients would be theirs times the replica count).
    """

    def __init__(self, low_bins=500, sc_weight=0.0, win_length=1024, hop_length=256,
                 n_fft=2048, pad=1024, name="spectral_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.low_bins = int(low_bins)
        self.sc_weight = float(sc_weight)
        self.stft_kwargs = dict(win_length=int(win_length), hop_length=int(hop_length),
                                n_fft=int(n_fft), pad=int(pad))

    def call(self, y_true, y_pred):
        t = loss_terms(y_true, y_pred, self.low_bins, per_example=True, **self.stft_kwargs)
        total = t["log_mag_all"] + t["log_mag_low"] + t["lin_mag_low"]
        if self.sc_weight:
            total = total + self.sc_weight * t["spectral_convergence"]
        return total

    def get_config(self):
        config = super().get_config()
        config.update(low_bins=self.low_bins, sc_weight=self.sc_weight, **self.stft_kwargs)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
def loss_term(y_true, y_pred, term="log_mag_all", low_bins=500, **stft_kwargs):
    """One named term of :func:`loss_terms` (used as a metric function)."""
    return loss_terms(y_true, y_pred, low_bins, **stft_kwargs)[term]


def term_metrics(config):
    """Metrics logging each loss term (named after it) for a configuration."""
    terms = ["log_mag_all", "log_mag_low", "lin_mag_low"]
    if config.get("loss_sc_weight", 0.0):
        terms.append("spectral_convergence")
    kw = dict(low_bins=config["loss_low_bins"], win_length=config["win_length"],
              hop_length=config["hop_length"], n_fft=config["n_fft"], pad=config["loss_pad"])
    return [keras.metrics.MeanMetricWrapper(loss_term, name=t, term=t, **kw) for t in terms]


def make_loss(config):
    """The :class:`SpectralLoss` of a configuration."""
    return SpectralLoss(low_bins=config["loss_low_bins"], sc_weight=config["loss_sc_weight"],
                        win_length=config["win_length"], hop_length=config["hop_length"],
                        n_fft=config["n_fft"], pad=config["loss_pad"])
