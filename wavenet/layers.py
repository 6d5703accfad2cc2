"""Keras 3 layers of the WaveNet vocoder (keras.ops only, serialisable).

* :class:`MuLawCompand` - µ-law companding of the input amplitudes.
* :class:`ConditionUpsampler` - mel frames -> sample-rate conditioning, by learned
  transposed convolutions (scales multiplying to the hop) or by repetition.
* :class:`FrameConditioner` - a small network over the mel frames whose features, repeated to the
  sample rate, join the upsampled mel (computed once per frame: nearly free at generation time).
* :class:`GatedResidualBlock` - dilated causal conv, gated tanh * sigmoid unit with
  local (and optional global) conditioning, residual (x sqrt(0.5)) and skip outputs.

The registered names (package ``"audiosynth.wavenet"`` and the class names) are
what saved ``.keras`` files refer to: never change them, or older checkpoints
(written when these classes lived in ``separation.wavenet_layers``) stop loading.
"""
import math

import keras
from keras import ops

PACKAGE = "audiosynth.wavenet"


@keras.saving.register_keras_serializable(package=PACKAGE)
class MuLawCompand(keras.layers.Layer):
    """``sign(x) * log(1 + mu |x|) / log(1 + mu)`` on ``[..., 1]`` amplitudes in [-1, 1].

    Args:
        mu: int, 255 by default.
    """

    def __init__(self, mu=255, **kwargs):
        super().__init__(**kwargs)
        self.mu = int(mu)

    def call(self, x):
        return ops.sign(x) * ops.log1p(self.mu * ops.abs(x)) / math.log1p(self.mu)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mu": self.mu}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConditionUpsampler(keras.layers.Layer):
    """Upsample mel frames ``[batch, frames, n_mels]`` to ``[batch, frames * hop, n_mels]``.

    ``mode="transposed"``: one 2-D transposed convolution per scale over the
    (time, mel) plane, kernel ``(scale, freq_kernel)`` and stride ``(scale, 1)``;
    the time kernel equals the stride, so sample ``t`` depends only on frame
    ``t // hop`` (no look-ahead across frames). Kernels start as a frequency
    average, i.e. the layer starts as repetition. ``mode="repeat"``: frame
    repetition, no weights.

    Args:
        scales: list of int, product = hop (e.g. ``[4, 4, 4, 4]`` for 256).
        mode: ``"transposed"`` or ``"repeat"``.
        freq_kernel: int, odd, mel-axis kernel width of the transposed convs.

    Example:
        >>> up = ConditionUpsampler([4, 4, 4, 4])
        >>> up(keras.ops.zeros((1, 3, 80))).shape
        (1, 768, 80)
    """

    def __init__(self, scales, mode="transposed", freq_kernel=3, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("transposed", "repeat"):
            raise ValueError(f"upsample mode must be 'transposed' or 'repeat', got {mode!r}")
        self.scales = [int(s) for s in scales]
        self.mode = mode
        self.freq_kernel = int(freq_kernel)
        self.hop = int(math.prod(self.scales))
        self.convs = []

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if self.mode == "transposed":
            n_mels = input_shape[-1]
            for i, s in enumerate(self.scales):
                conv = keras.layers.Conv2DTranspose(
                    1, (s, self.freq_kernel), strides=(s, 1), padding="same", use_bias=True,
                    kernel_initializer=keras.initializers.Constant(1.0 / self.freq_kernel),
                    name=f"upsample_{i}")
                conv.build((None, None, n_mels, 1))
                self.convs.append(conv)
        self.built = True

    def call(self, mel):
        if self.mode == "repeat":
            return ops.repeat(mel, self.hop, axis=1)
        x = ops.expand_dims(mel, -1)
        for conv in self.convs:
            x = conv(x)
        return ops.squeeze(x, -1)

    def compute_output_shape(self, input_shape):
        t = None if input_shape[1] is None else input_shape[1] * self.hop
        return (input_shape[0], t, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "scales": self.scales, "mode": self.mode,
                "freq_kernel": self.freq_kernel}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FrameConditioner(keras.layers.Layer):
    """Mel frames ``[batch, frames, n_mels]`` -> features ``[batch, frames, channels]``.

    ``n_layers`` convolutions over frames (kernel ``kernel_size``, zero "same" padding, so each sees
    ``kernel_size // 2`` frames either side per layer: `wavenet.model.frame_context`) with tanh, as
    LPCNet's frame-rate network.
    The vocoder repeats the features to the sample rate and conditions on them beside the
    upsampled mel (`wavenet.model.build_wavenet`).

    Args:
        n_layers: int >= 1.
        channels: int, width of every convolution.
        kernel_size: int, odd.

    Example:
        >>> net = FrameConditioner(2, 32)
        >>> net(keras.ops.zeros((1, 5, 80))).shape
        (1, 5, 32)
    """

    def __init__(self, n_layers, channels, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.n_layers, self.channels, self.kernel_size = int(n_layers), int(channels), int(kernel_size)
        self.convs = []

    def build(self, input_shape):
        width = tuple(input_shape)[-1]
        for i in range(self.n_layers):
            conv = keras.layers.Conv1D(self.channels, self.kernel_size, padding="same", activation="tanh",
                                       name=f"frame_conv_{i}")
            conv.build((None, None, width))
            self.convs.append(conv)
            width = self.channels
        self.built = True

    def call(self, mel):
        h = mel
        for conv in self.convs:
            h = conv(h)
        return h

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.channels,)

    def get_config(self):
        return {**super().get_config(), "n_layers": self.n_layers, "channels": self.channels,
                "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package=PACKAGE)
class GatedResidualBlock(keras.layers.Layer):
    """One WaveNet layer.

    ``a = causal_dilated_conv(x) + W_c c (+ W_g g)``; ``z = tanh(a_1) * sigmoid(a_2)``
    (``a`` split in two halves of ``gate_channels // 2``); ``[r, s] = W_o z``;
    returns ``((x + r) * sqrt(0.5), s)``.

    Inputs: ``[x [batch, T, residual_channels], c [batch, T, cond_channels]]`` and,
    with global conditioning, ``g [batch, 1, global_channels]``.
    Outputs: ``(residual [batch, T, residual_channels], skip [batch, T, skip_channels])``.

    Args:
        residual_channels: int.
        gate_channels: int, even; output width of the dilated conv (both halves).
        skip_channels: int.
        kernel_size: int, 2 or 3.
        dilation: int.
        use_global: bool, whether a global-conditioning input is given.

    Example:
        >>> blk = GatedResidualBlock(16, 32, 16, kernel_size=2, dilation=4)
        >>> r, s = blk([keras.ops.zeros((1, 50, 16)), keras.ops.zeros((1, 50, 80))])
    """

    def __init__(self, residual_channels, gate_channels, skip_channels, kernel_size=3, dilation=1,
                 use_global=False, **kwargs):
        super().__init__(**kwargs)
        if gate_channels % 2:
            raise ValueError(f"gate_channels must be even, got {gate_channels}")
        self.residual_channels = int(residual_channels)
        self.gate_channels = int(gate_channels)
        self.skip_channels = int(skip_channels)
        self.kernel_size = int(kernel_size)
        self.dilation = int(dilation)
        self.use_global = bool(use_global)

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        self.dilated = keras.layers.Conv1D(self.gate_channels, self.kernel_size, dilation_rate=self.dilation,
                                           padding="causal", name="dilated")
        self.dilated.build(shapes[0])
        self.cond = keras.layers.Dense(self.gate_channels, use_bias=False, name="cond")
        self.cond.build(shapes[1])
        if self.use_global:
            self.glob = keras.layers.Dense(self.gate_channels, use_bias=False, name="global")
            self.glob.build(shapes[2])
        self.out = keras.layers.Dense(self.residual_channels + self.skip_channels, name="out")
        self.out.build((None, None, self.gate_channels // 2))
        self.built = True

    def call(self, inputs):
        x, c = inputs[0], inputs[1]
        a = self.dilated(x) + self.cond(c)
        if self.use_global:
            a = a + self.glob(inputs[2])
        half = self.gate_channels // 2
        z = ops.tanh(a[..., :half]) * ops.sigmoid(a[..., half:])
        o = self.out(z)
        residual = (x + o[..., :self.residual_channels]) * math.sqrt(0.5)
        return residual, o[..., self.residual_channels:]

    def compute_output_shape(self, input_shape):
        x_shape = tuple(input_shape[0])
        return x_shape, x_shape[:-1] + (self.skip_channels,)

    def get_config(self):
        return {**super().get_config(), "residual_channels": self.residual_channels,
                "gate_channels": self.gate_channels, "skip_channels": self.skip_channels,
                "kernel_size": self.kernel_size, "dilation": self.dilation, "use_global": self.use_global}
