"""The PGHI-refining CNN vocoder: a small 2-D CNN corrects PGHI's phase, one inverse STFT.

A departure from the multi-head paper's all-convolutional waveform generator
(``cnnvocoder.model``), which did not learn on this machine's budget (spectral
convergence 1.2, worse than silence, after 360 CPU steps). Here the network
never generates a waveform: it starts from phase-gradient heap integration
(PGHI, non-iterative) of the declipped magnitude and predicts, per
time-frequency bin, a rotation of that phase and a bounded gain of that
magnitude; one inverse STFT gives the waveform. It is trained with the
spectral losses of ``cnnvocoder.losses`` (spectral convergence included) plus a
phase-derivative loss (:func:`phase_derivative_loss`) against the true STFT.
A convolutional network alone cannot predict absolute STFT phase (a stationary
partial's phase advances frame after frame while the local input stays the
same), so PGHI supplies the integration and the CNN repairs it locally.

Inputs ``spectrogram`` (normalised dB, ``[batch, frames, bins]``), ``start_phase``
(PGHI) and ``start_log_magnitude`` (declipped, nepers); outputs
``{"wav": [batch, frames * hop], "phase": [batch, frames, bins, 2]}``.
:class:`RefinerVocoder` wraps a trained model for ``invert(spec, "cnn", ...)``.
"""
import keras
import numpy as np
from keras import layers, ops

from cnnvocoder.features import spec_to_magnitude
from cnnvocoder.refiner_layers import ISTFTSynthesis, RefinerFeatures
from dsp.backend import compiled_function, is_tensorflow
from dsp.pghi import declip, pghi_phase

PACKAGE = "cnnvocoder"
MODEL_NAME = "pghi_refiner"
# the declipping caps of cnnvocoder.inversion.PHASE_DEFAULTS (chosen on training clips)
DECLIP = {"max_excess_db": 8.0, "fallback_db": 5.0}
REFINER_DEFAULTS = {"refiner_channels": 16, "refiner_blocks": 4, "max_log_gain": 3.0}


def is_refiner(model):
    """True for a keras model built by :func:`build_refiner` (or a RefinerVocoder)."""
    return isinstance(model, RefinerVocoder) or getattr(model, "name", "") == MODEL_NAME


def build_refiner(config):
    """The refining CNN as a functional model (see the module doc).

    Args:
        config: dict with the analysis (n_fft, win_length, hop_length, min_level_db) and
            ``refiner_channels`` (16), ``refiner_blocks`` (4; residual blocks with
            frequency dilations 1, 2, 4, 8, ...), ``max_log_gain`` (3.0 nepers).
    """
    c = {**REFINER_DEFAULTS, **config}
    n_bins = int(c["n_fft"]) // 2 + 1
    ch = int(c["refiner_channels"])
    spec = keras.Input((None, n_bins), name="spectrogram")
    phase = keras.Input((None, n_bins), name="start_phase")
    log_mag = keras.Input((None, n_bins), name="start_log_magnitude")
    x = RefinerFeatures(c["n_fft"], c["hop_length"], c["min_level_db"], name="features")(
        spec, phase, log_mag)
    x = layers.Conv2D(ch, (3, 7), padding="same", activation="gelu", name="in_conv")(x)
    for i in range(int(c["refiner_blocks"])):
        y = layers.Conv2D(ch, (3, 5), padding="same", dilation_rate=(1, 2 ** (i % 4)),
                          activation="gelu", name=f"block{i}_conv")(x)
        y = layers.Conv2D(ch, 1, name=f"block{i}_mix")(y)
        x = layers.Add(name=f"block{i}_add")([x, y])
    # zero kernels: the untrained network is PGHI itself (rotation 1 + 0i, gain 0)
    outs = [layers.Reshape((-1, n_bins), name=f"{name}_bins")(
        layers.Conv2D(1, 1, kernel_initializer="zeros", bias_initializer=bias, dtype="float32",
                      name=name)(x))
        for name, bias in (("rotation_re", "ones"), ("rotation_im", "zeros"), ("gain", "zeros"))]
    wav, unit = ISTFTSynthesis(c["n_fft"], c["win_length"], c["hop_length"], c["max_log_gain"],
                               name="istft")(log_mag, phase, *outs)
    return keras.Model([spec, phase, log_mag],
                       {"wav": layers.Identity(name="wav")(wav),
                        "phase": layers.Identity(name="phase")(unit)}, name=MODEL_NAME)


@keras.saving.register_keras_serializable(package=PACKAGE)
def phase_derivative_loss(y_true, y_pred):
    """Magnitude-weighted ``1 - cos`` of the phase error's time and frequency differences.

    With ``z = exp(i (phase_pred - phase_true))`` per bin, the loss is the weighted mean
    of ``1 - Re(z_t conj(z_{t-1}))`` plus that along frequency: zero for any constant
    phase offset (which no magnitude can reveal), weights ``sqrt(|X_a| |X_b|)``.

    Shapes: ``y_true`` ``[batch, frames, bins, 2]`` (real and imaginary part of the true
    STFT), ``y_pred`` ``[batch, frames, bins, 2]`` (cos and sin of the phase) -> ``[batch]``.
    """
    re, im = y_true[..., 0], y_true[..., 1]
    mag = ops.sqrt(re * re + im * im + 1e-12)
    z_re = (y_pred[..., 0] * re + y_pred[..., 1] * im) / mag
    z_im = (y_pred[..., 1] * re - y_pred[..., 0] * im) / mag

    def term(a, b):
        (ar, ai, am), (br, bi, bm) = a, b
        w = ops.sqrt(am * bm)
        return ops.sum(w * (1.0 - (ar * br + ai * bi)), axis=(1, 2)) / (
            ops.sum(w, axis=(1, 2)) + 1e-9)

    def cut(sl):
        return z_re[sl], z_im[sl], mag[sl]

    s = slice(None)
    return (term(cut((s, slice(1, None))), cut((s, slice(None, -1))))
            + term(cut((s, s, slice(1, None))), cut((s, s, slice(None, -1)))))


def pghi_start(spec, config):
    """(phase, log-magnitude) float32 ``[frames, bins]``: PGHI of the declipped magnitude.

    Args:
        spec: ``[frames, bins]`` normalised dB spectrogram (values in [0, 1]).
        config: analysis settings (ref_level_db, min_level_db, n_fft, win_length, hop_length).
    """
    mag, _ = declip(spec_to_magnitude(spec, config), config["win_length"], config["n_fft"],
                    **DECLIP)
    phase = pghi_phase(mag, config["hop_length"], config["n_fft"], config["win_length"])
    return phase.astype(np.float32), np.log(mag + 1e-5).astype(np.float32)


class RefinerVocoder:
    """Callable ``spec [frames, bins] -> waveform [frames * hop]`` of a trained refiner:
    the PGHI start in NumPy, the network compiled once (``tf.function`` on TensorFlow,
    eager elsewhere).

    Args:
        model: keras model of :func:`build_refiner`.
        config: its analysis settings.
        compile: bool or None (default: compile on TensorFlow).
    """

    def __init__(self, model, config, compile=None):
        self.model, self.config = model, dict(config)
        self.n_bins = int(model.inputs[0].shape[-1])
        call = lambda s, p, m: model([s, p, m], training=False)["wav"]  # noqa: E731
        if compile or (compile is None and is_tensorflow()):
            call = compiled_function(call, [[1, None, self.n_bins]] * 3,
                                     "RefinerVocoder(compile=True)")
        self._call = call

    def __call__(self, spec):
        phase, log_mag = pghi_start(spec, self.config)
        y = self._call(*(ops.convert_to_tensor(a[None].astype(np.float32))
                         for a in (spec, phase, log_mag)))
        return np.asarray(ops.convert_to_numpy(y))[0].astype(np.float32)
