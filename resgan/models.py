"""ResGAN models (ICASSP 2018, "MFCC residual waveform generation with GAN").

Three networks and one fixed layer, all built from ``keras.ops``:

* :class:`SpectralView` -- fixed (weight-free) log-power spectrum of a
  400-sample pulse, the second "view" every model outputs and the
  discriminator sees.
* :func:`build_pulse_model` -- least-squares pulse model: acoustic features
  ``[batch, context, 22]`` -> smooth glottal pulse ``[batch, 400]``.
* :func:`build_generator` -- GAN noise model: pulse + N(0, 1) noise ->
  pulse + tanh residual (additivity enforced by construction).
* :func:`build_discriminator` -- least-squares discriminator on the
  2-channel (waveform, spectral view) stack, exposing its "peek" feature
  layer for the feature-matching loss.

The two-stage GAN training step lives in ``resgan.gan``. All of this runs on
any Keras backend.

Scale-out (``dsp.distribute``): the trainers make every BatchNormalization use the
statistics of the global batch under ``tf.distribute``
(`dsp.replicas.synchronize_batch_norm`, a property of the run, not saved). With ``--mixed_precision`` (a
``mixed_*`` dtype policy) the layers that make the outputs the losses see
(the last convolution and what follows it, the discriminator's peek features,
`SpectralView` always) compute in float32. The registered names (package "resgan", the class names)
are those of the checkpoints written before the package layout (module
``models``), so those still load.
"""
import keras
import numpy as np
from keras import layers, ops

from resgan.constants import (CENTRE, LOG_F0_COLUMN, N_INPUTS, PULSE_LENGTH, PULSE_RMS, SAMPLE_RATE,
                              VOICING_COLUMN)

N_FEATURES = N_INPUTS
FFT_LENGTH = 2 * PULSE_LENGTH - 2  # 798 // 2 + 1 == 400 bins, so the spectral view is also 400 long
EDGE_RAMP = 21

PACKAGE = "resgan"  # Keras registered package name: never change (checkpoints name it)
OUT = "float32"  # dtype of the output layers (under a mixed-precision policy too)


def pitch_windows(features, input_means, input_stdevs, sr=SAMPLE_RATE):
    """The windows the packaging cut each frame's target pulse with, ``[batch, 400]``.

    A voiced frame's pulse is two periods of residual under a Hann window of
    half-width ``min(round(sr / F0), 199)`` centred at sample 200; an unvoiced
    frame's, the whole 400 samples under a Hann window of half-width 200
    (``resgan.packaging.extract_pulses``). ``keras.ops`` (any backend, inside a
    training step too) or numpy arrays alike.

    Args:
        features: ``[batch, 22]`` z-normalised inputs of the frames.
        input_means, input_stdevs: ``[22]`` the normalisation.
    """
    log_f0 = features[:, LOG_F0_COLUMN] * input_stdevs[LOG_F0_COLUMN] + input_means[LOG_F0_COLUMN]
    voicing = features[:, VOICING_COLUMN] * input_stdevs[VOICING_COLUMN] + input_means[VOICING_COLUMN]
    period = ops.round(sr * ops.exp(-log_f0))
    half = ops.where(voicing > 0.5, ops.minimum(period, CENTRE - 1.0), float(CENTRE))[:, None]
    k = ops.cast(ops.arange(PULSE_LENGTH) - CENTRE, "float32")[None, :]
    half = ops.cast(half, "float32")
    hann = 0.5 * (1.0 + ops.cos(np.pi * k / (half + 1.0)))
    return ops.where(ops.abs(k) <= half, hann, 0.0)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpectralView(layers.Layer):
    """Fixed log-power spectrum of a pulse (no weights).

    The waveform is zero-padded to ``fft_length`` samples, transformed with a
    real FFT, divided by ``sqrt(fft_length)``; the power (floored at
    ``floor``) is mapped to ``((20 / 90) * log10(P) + 1) * 0.1``, so a
    -90 dB..0 dB power range lands roughly in [-0.1, 0.1], the waveform's
    own scale.

    Args:
        fft_length: int, default 798 (gives exactly 400 bins).
        floor: float, power floor before the log, default 1e-9.

    Shapes: ``[batch, 400]`` -> ``[batch, fft_length // 2 + 1]``. Computes in float32
    unless given another ``dtype`` (also under a mixed-precision policy).

    Example:
        >>> spec = SpectralView()(np.zeros((2, 400), "float32"))  # (2, 400)
    """

    def __init__(self, fft_length=FFT_LENGTH, floor=1e-9, **kwargs):
        kwargs.setdefault("dtype", OUT)
        super().__init__(**kwargs)
        self.fft_length = int(fft_length)
        self.floor = float(floor)

    def call(self, x):
        n = ops.shape(x)[-1]
        x = ops.pad(x, [[0, 0], [0, self.fft_length - n]])
        real, imag = ops.rfft(x, fft_length=self.fft_length)
        scale = 1.0 / float(np.sqrt(self.fft_length))
        power = (ops.square(real) + ops.square(imag)) * (scale * scale)
        power = ops.maximum(power, self.floor)
        log10 = ops.log(power) / float(np.log(10.0))
        return ((20.0 / 90.0) * log10 + 1.0) * 0.1

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.fft_length // 2 + 1)

    def get_config(self):
        config = super().get_config()
        config.update({"fft_length": self.fft_length, "floor": self.floor})
        return config


def spectral_view_numpy(x, fft_length=FFT_LENGTH, floor=1e-9):
    """numpy reference of :class:`SpectralView` (tests, evaluation)."""
    x = np.asarray(x, dtype=np.float64)
    spec = np.fft.rfft(x, n=fft_length, axis=-1) / np.sqrt(fft_length)
    power = np.maximum(np.abs(spec) ** 2, floor)
    return ((20.0 / 90.0) * np.log10(power) + 1.0) * 0.1


def edge_window(length=PULSE_LENGTH, ramp=EDGE_RAMP):
    """Ones with ``ramp``-sample Hann fades at both ends, ``[length]`` float32.

    The fade rises from exactly 0 at sample 0 to 1 just after sample
    ``ramp - 1`` (the rising half of a ``2 * ramp + 1``-point Hann window),
    so pulses start and end at zero before the GAN sees them.
    """
    win = np.ones(length, dtype=np.float32)
    rise = np.hanning(2 * ramp + 1)[:ramp].astype(np.float32)
    win[:ramp] = rise
    win[-ramp:] = rise[::-1]
    return win


@keras.saving.register_keras_serializable(package=PACKAGE)
class ExpandChannel(layers.Layer):
    """``[batch, n]`` -> ``[batch, n, 1]`` (weight-free)."""

    def call(self, x):
        return ops.expand_dims(x, -1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (1,)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SqueezeChannel(layers.Layer):
    """``[batch, n, 1]`` -> ``[batch, n]`` (weight-free)."""

    def call(self, x):
        return ops.squeeze(x, -1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1]


@keras.saving.register_keras_serializable(package=PACKAGE)
class FixedGain(layers.Layer):
    """Multiplies by a constant (no weights): ``y = gain * x``, any shape."""

    def __init__(self, gain=1.0, **kwargs):
        super().__init__(**kwargs)
        self.gain = float(gain)

    def call(self, x):
        return x * self.gain

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"gain": self.gain})
        return config


def _conv_bn_lrelu(x, filters, kernel, name, strides=1, padding="same", bn_momentum=0.99,
                   out_dtype=None):
    x = layers.Conv1D(filters, kernel, strides=strides, padding=padding, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return layers.LeakyReLU(negative_slope=0.1, name=f"{name}_lrelu", dtype=out_dtype)(x)


def build_pulse_model(context_len=1, n_features=N_FEATURES, gru_units=50, filters=100,
                      kernel=15, n_conv=4, bn_momentum=0.99, output_gain=PULSE_RMS,
                      name="pulse_model"):
    """Least-squares pulse model.

    ``[batch, context_len, n_features]`` -> GRU(50, relu) -> Dense(400) -> BN
    -> ReLU -> ``[400, 1]`` -> 4 x [Conv1D(100, 15, same) -> BN ->
    LeakyReLU(0.1)] -> Conv1D(1, 15, same, linear).

    Returns a functional model with outputs ``{"wave": [batch, 400],
    "spec": [batch, 400]}`` (``spec`` = :class:`SpectralView` of ``wave``).
    About 488k parameters with the defaults (Keras 3 GRU, ``reset_after``).

    Output scale (a reparametrisation, not a change of the network): the
    final linear convolution starts at zero (the model starts as the
    all-zero predictor) and its output is multiplied by the fixed
    ``output_gain`` (default :data:`PULSE_RMS` = 1/20, the RMS of the
    unit-energy target pulses). Without it, the default-initialised final
    convolution of 1500 unit-scale inputs emits noise ~20x louder than the
    targets, and Adam's per-weight steps (~lr each) move its output by far
    more than the targets' scale: the model stays noise-like for hundreds of
    steps (measured: held-out MSE 2.4x that of predicting zeros after 180
    steps). With the gain, the convolutions learn unit-scale targets.
    ``output_gain=1`` gives the plain network.
    """
    inputs = keras.Input((context_len, n_features), name="features")
    x = layers.GRU(gru_units, activation="relu", name="gru")(inputs)
    x = layers.Dense(PULSE_LENGTH, name="dense")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="dense_bn")(x)
    x = layers.ReLU(name="dense_relu")(x)
    x = ExpandChannel(name="to_channels")(x)
    for i in range(n_conv):
        x = _conv_bn_lrelu(x, filters, kernel, name=f"block{i}", bn_momentum=bn_momentum)
    x = layers.Conv1D(1, kernel, padding="same", name="out_conv",
                      kernel_initializer="zeros", dtype=OUT)(x)
    if output_gain != 1.0:
        x = FixedGain(output_gain, name="output_gain", dtype=OUT)(x)
    wave = SqueezeChannel(name="wave", dtype=OUT)(x)
    spec = SpectralView(name="spec")(wave)
    return keras.Model(inputs, {"wave": wave, "spec": spec}, name=name)


def build_generator(filters=100, kernel=15, bn_momentum=0.99, pitch_window=False, name="generator"):
    """GAN noise model (generator).

    Inputs ``pulse [batch, 400]`` and ``z [batch, 400]`` (N(0, 1) noise).
    concat[pulse, z] -> Conv1D(100, 15) -> BN -> LReLU(0.1); twice
    concat[pulse, x] -> Conv1D(100, 15) -> BN -> LReLU; concat[pulse, x] ->
    Conv1D(1, 15) -> tanh = residual; ``wave = pulse + residual``.

    With ``pitch_window``, a third input ``window [batch, 400]`` (the frame's
    `pitch_windows`) multiplies the residual: the noise is confined to the two
    periods around the pulse centre that the target pulse was cut from, as in
    the real pulses, whatever the convolutions' 57-sample receptive field sees.

    Outputs ``{"wave", "spec", "residual"}``, each ``[batch, 400]``.
    About 309k parameters.
    """
    pulse = keras.Input((PULSE_LENGTH,), name="pulse")
    z = keras.Input((PULSE_LENGTH,), name="z")
    window = keras.Input((PULSE_LENGTH,), name="window") if pitch_window else None
    p = ExpandChannel(name="pulse_channel")(pulse)
    zc = ExpandChannel(name="z_channel")(z)
    x = layers.Concatenate(name="concat0")([p, zc])
    x = _conv_bn_lrelu(x, filters, kernel, name="g0", bn_momentum=bn_momentum)
    for i in (1, 2):
        x = layers.Concatenate(name=f"concat{i}")([p, x])
        x = _conv_bn_lrelu(x, filters, kernel, name=f"g{i}", bn_momentum=bn_momentum)
    x = layers.Concatenate(name="concat3")([p, x])
    # the residual starts near zero (G starts as the identity on the pulse):
    # with default initialisation the tanh output saturates at +-1, ~20 dB
    # louder than a unit-energy pulse, and short training cannot undo it
    x = layers.Conv1D(1, kernel, padding="same", activation="tanh", name="residual_conv",
                      kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3),
                      dtype=OUT)(x)
    if window is None:
        residual = SqueezeChannel(name="residual", dtype=OUT)(x)
    else:
        residual = layers.Multiply(name="residual", dtype=OUT)([SqueezeChannel(name="raw_residual")(x), window])
    wave = layers.Add(name="wave", dtype=OUT)([pulse, residual])
    spec = SpectralView(name="spec")(wave)
    inputs = [pulse, z] if window is None else [pulse, z, window]
    return keras.Model(inputs, {"wave": wave, "spec": spec, "residual": residual}, name=name)


def uses_pitch_window(generator):
    """True for a generator built with ``pitch_window`` (three inputs)."""
    return len(generator.inputs) == 3


def build_discriminator(bn_momentum=0.99, name="discriminator"):
    """Least-squares discriminator with a "peek" feature output.

    Inputs ``wave [batch, 400]`` and ``spec [batch, 400]`` stacked as 2
    channels -> Conv1D(64, 7, s3) -> BN -> LReLU -> Conv1D(128, 7, s3) -> BN
    -> LReLU -> Conv1D(256, 7, s3) -> BN -> LReLU (= ``peek``, ``[batch, 12,
    256]``) -> Conv1D(128, 5, s2) -> BN -> LReLU -> Conv1D(1, 3, s2) linear.

    Outputs ``{"score": [batch, 1], "peek": [batch, 12, 256]}``; no sigmoid
    (least-squares GAN). About 455k parameters.

    ``bn_momentum`` (all builders, default 0.99 = Keras' default) sets the
    BatchNorm moving-average momentum; short runs use a smaller one so that
    the inference-mode statistics catch up with the training batches.
    """
    wave = keras.Input((PULSE_LENGTH,), name="wave")
    spec = keras.Input((PULSE_LENGTH,), name="spec")
    x = layers.Concatenate(name="stack")(
        [ExpandChannel(name="wave_channel")(wave), ExpandChannel(name="spec_channel")(spec)])
    x = _conv_bn_lrelu(x, 64, 7, "d0", strides=3, padding="valid",
                       bn_momentum=bn_momentum)
    x = _conv_bn_lrelu(x, 128, 7, "d1", strides=3, padding="valid",
                       bn_momentum=bn_momentum)
    peek = _conv_bn_lrelu(x, 256, 7, "d2", strides=3, padding="valid",
                          bn_momentum=bn_momentum, out_dtype=OUT)
    x = _conv_bn_lrelu(peek, 128, 5, "d3", strides=2, padding="valid",
                       bn_momentum=bn_momentum)
    x = layers.Conv1D(1, 3, strides=2, padding="valid", name="score_conv", dtype=OUT)(x)
    score = layers.Flatten(name="score", dtype=OUT)(x)
    return keras.Model([wave, spec], {"score": score, "peek": peek}, name=name)


@keras.saving.register_keras_serializable(package=PACKAGE)
class SpectralMSE(keras.losses.Loss):
    """MSE between the spectral view of the target waveform and a predicted
    spectral view: ``y_true [batch, 400]`` waveform, ``y_pred [batch, 400]``
    spectral view (the pulse model's ``spec`` output)."""

    def __init__(self, name="spectral_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self._view = SpectralView()

    def call(self, y_true, y_pred):
        return ops.mean(ops.square(self._view(y_true) - y_pred), axis=-1)
