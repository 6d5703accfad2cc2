"""Building blocks of the separation encoder: residual block, hourglass, weighted loss.

All layers use `keras.ops` / stock Keras layers only (backend-neutral), create
their sublayers in `build`, and are registered for `.keras` serialisation.
Tensors are channels-last images `[batch, frames, bins, channels]`.
"""
import keras
from keras import layers, ops

PACKAGE = "separation"


@keras.saving.register_keras_serializable(package=PACKAGE)
class ResidualBlock(layers.Layer):
    """Pre-activation residual block of the hourglass.

    BN-ReLU-Conv3x3(mid) - BN-ReLU-Conv3x3(mid) - BN-ReLU-Conv1x1(out), added to
    the input (identity when the channel count already equals `out_channels`,
    otherwise a 1x1 convolution).

    Args:
        out_channels: int, output channels (64 in the paper).
        mid_channels: int, channels of the two 3x3 convolutions (32 in the paper).
        l2: float, L2 kernel regulariser weight (1e-7 in the paper).
        bn_momentum: float, momentum of the BatchNormalization moving statistics
            (Keras' 0.99 by default; short CPU runs use 0.9 so that the inference-mode
            statistics catch up within tens of steps).

    Example:
    >>> y = ResidualBlock(64, 32)(keras.ops.zeros((2, 64, 80, 9)))  # (2, 64, 80, 64)
    """

    def __init__(self, out_channels=64, mid_channels=32, l2=1e-7, bn_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.out_channels = int(out_channels)
        self.mid_channels = int(mid_channels)
        self.l2 = float(l2)
        self.bn_momentum = float(bn_momentum)

    def _conv(self, filters, size, name):
        reg = keras.regularizers.L2(self.l2) if self.l2 > 0 else None
        return layers.Conv2D(filters, size, padding="same", kernel_regularizer=reg, name=name)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        in_ch = input_shape[-1]
        self.bn1 = layers.BatchNormalization(momentum=self.bn_momentum, name="bn1")
        self.conv1 = self._conv(self.mid_channels, 3, "conv1")
        self.bn2 = layers.BatchNormalization(momentum=self.bn_momentum, name="bn2")
        self.conv2 = self._conv(self.mid_channels, 3, "conv2")
        self.bn3 = layers.BatchNormalization(momentum=self.bn_momentum, name="bn3")
        self.conv3 = self._conv(self.out_channels, 1, "conv3")
        self.bn1.build(input_shape)
        self.conv1.build(input_shape)
        mid_shape = input_shape[:-1] + (self.mid_channels,)
        self.bn2.build(mid_shape)
        self.conv2.build(mid_shape)
        self.bn3.build(mid_shape)
        self.conv3.build(mid_shape)
        if in_ch != self.out_channels:
            self.skip = self._conv(self.out_channels, 1, "skip")
            self.skip.build(input_shape)
        else:
            self.skip = None
        super().build(input_shape)

    def call(self, x, training=None):
        h = self.conv1(ops.relu(self.bn1(x, training=training)))
        h = self.conv2(ops.relu(self.bn2(h, training=training)))
        h = self.conv3(ops.relu(self.bn3(h, training=training)))
        shortcut = x if self.skip is None else self.skip(x)
        return h + shortcut

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.out_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(out_channels=self.out_channels, mid_channels=self.mid_channels, l2=self.l2,
                      bn_momentum=self.bn_momentum)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class Hourglass(layers.Layer):
    """Recursive hourglass of residual blocks (Newell et al. style).

    up  = residual(x)
    low = maxpool2x2(x) -> residual -> [Hourglass(depth-1) or residual] -> residual
          -> nearest upsample 2x2
    out = up + low

    With depth 3 a (64, 80) input reaches an (8, 10) bottleneck. Both spatial
    sizes must be divisible by 2**depth.

    Args:
        depth: int, number of down-sampling levels (3 in the paper).
        out_channels: int, channels of every residual block (64).
        mid_channels: int, inner channels of the residual blocks (32).
        l2: float, L2 regulariser weight.
        bn_momentum: float, BatchNormalization momentum of every residual block.

    Example:
    >>> y = Hourglass(3)(keras.ops.zeros((1, 64, 80, 9)))  # (1, 64, 80, 64)
    """

    def __init__(self, depth=3, out_channels=64, mid_channels=32, l2=1e-7, bn_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if depth < 1:
            raise ValueError(f"Hourglass depth must be >= 1, got {depth}")
        self.depth = int(depth)
        self.out_channels = int(out_channels)
        self.mid_channels = int(mid_channels)
        self.l2 = float(l2)
        self.bn_momentum = float(bn_momentum)

    def _res(self, name):
        return ResidualBlock(self.out_channels, self.mid_channels, self.l2, self.bn_momentum, name=name)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self.up = self._res("up")
        self.up.build(input_shape)
        self.pool = layers.MaxPooling2D(2, name="pool")
        low_shape = (
            input_shape[0],
            None if input_shape[1] is None else input_shape[1] // 2,
            None if input_shape[2] is None else input_shape[2] // 2,
            input_shape[3],
        )
        feat_shape = low_shape[:-1] + (self.out_channels,)
        self.low_shape = feat_shape  # [batch, frames/2, bins/2, out_channels] at this level
        self.low1 = self._res("low1")
        self.low1.build(low_shape)
        if self.depth > 1:
            self.low2 = Hourglass(self.depth - 1, self.out_channels, self.mid_channels, self.l2,
                                  self.bn_momentum, name="inner")
        else:
            self.low2 = self._res("low2")
        self.low2.build(feat_shape)
        self.low3 = self._res("low3")
        self.low3.build(feat_shape)
        self.upsample = layers.UpSampling2D(2, interpolation="nearest", name="upsample")
        super().build(input_shape)

    def call(self, x, training=None):
        up = self.up(x, training=training)
        low = self.low1(self.pool(x), training=training)
        low = self.low2(low, training=training)
        low = self.low3(low, training=training)
        return up + self.upsample(low)

    def bottleneck_shape(self, input_shape):
        """(frames, bins, channels) at the deepest level for an input (frames, bins, c)."""
        f, b = input_shape[0], input_shape[1]
        return (f // 2**self.depth, b // 2**self.depth, self.out_channels)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.out_channels,)

    def get_config(self):
        config = super().get_config()
        config.update(depth=self.depth, out_channels=self.out_channels,
                      mid_channels=self.mid_channels, l2=self.l2, bn_momentum=self.bn_momentum)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
def weighted_squared_error(y_true, y_pred):
    """Paper's weighted squared error, one value per example.

    w = X^2 + (1 - X^2) * Xhat^2 ;  loss = sum(w * (Xhat - X)^2) / sum(w)
    summed over all frames and bins of an example (X = target in [0, 1]).
    The weight emphasises errors where either the target or the estimate has
    energy, so silent regions do not dominate. Gradients flow through w.

    Args:
        y_true, y_pred: `[batch, frames, bins]` tensors in [0, 1].
    Returns:
        `[batch]` loss values.
    """
    y_true = ops.cast(y_true, y_pred.dtype)
    t2 = ops.square(y_true)
    w = t2 + (1.0 - t2) * ops.square(y_pred)
    axes = tuple(range(1, len(y_pred.shape)))
    num = ops.sum(w * ops.square(y_pred - y_true), axis=axes)
    den = ops.sum(w, axis=axes) + 1e-8
    return num / den
