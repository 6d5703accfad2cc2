"""Custom Keras layers of the CNN vocoder (``keras.ops`` only, serialisable).

- :class:`LinearUpsample1D`  x2 (or xK) linear interpolation along time with
  half-pixel centres (each output sample sits at input coordinate
  ``(j + 0.5) / K - 0.5``, edges clamped), not nearest-neighbour repetition.
- :class:`ScaledSoftsign`     ``a * x / (1 + |b * x|)`` with trainable a, b
  (the multi-head paper's output non-linearity).
- :class:`WeightedSum`        sum of several head outputs with trainable
  scalar weights.
"""
import keras
from keras import ops

PACKAGE = "cnnvocoder"


@keras.saving.register_keras_serializable(package=PACKAGE)
class LinearUpsample1D(keras.layers.Layer):
    """Linear-interpolation upsampling along the time axis.

    Equivalent to ``tf.image.resize(..., method="bilinear")`` along one axis
    with half-pixel centres: for factor 2, ``y[2i] = 0.75 x[i] + 0.25 x[i-1]``
    and ``y[2i+1] = 0.75 x[i] + 0.25 x[i+1]`` with the border sample repeated.

    Args:
        factor: int, default 2. Integer upsampling factor (>= 1).

    Shapes: ``[batch, time, channels] -> [batch, time * factor, channels]``.

    Example:
        >>> y = LinearUpsample1D(2)(keras.ops.ones((1, 5, 3)))  # (1, 10, 3)
    """

    def __init__(self, factor=2, **kwargs):
        super().__init__(**kwargs)
        factor = int(factor)
        if factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor}")
        self.factor = factor

    def call(self, x):
        k = self.factor
        if k == 1:
            return x
        prev = ops.concatenate([x[:, :1], x[:, :-1]], axis=1)
        nxt = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)
        phases = []
        for p in range(k):
            # offset of output phase p relative to its source sample, in input units
            d = (p + 0.5) / k - 0.5
            if d < 0:
                phases.append((1.0 + d) * x + (-d) * prev)
            else:
                phases.append((1.0 - d) * x + d * nxt)
        y = ops.stack(phases, axis=2)  # [B, T, k, C]
        shape = ops.shape(x)
        return ops.reshape(y, (shape[0], shape[1] * k, shape[2]))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        t = None if input_shape[1] is None else input_shape[1] * self.factor
        return (input_shape[0], t, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class ScaledSoftsign(keras.layers.Layer):
    """Scaled softsign ``a * x / (1 + |b * x|)`` with trainable scalars a, b.

    Args:
        a_init: float, default 1.0. Initial output scale.
        b_init: float, default 1.0. Initial input scale.

    Shapes: any -> same.
    """

    def __init__(self, a_init=1.0, b_init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.a_init = float(a_init)
        self.b_init = float(b_init)

    def build(self, input_shape):
        self.a = self.add_weight(name="a", shape=(),
                                 initializer=keras.initializers.Constant(self.a_init))
        self.b = self.add_weight(name="b", shape=(),
                                 initializer=keras.initializers.Constant(self.b_init))

    def call(self, x):
        return self.a * x / (1.0 + ops.abs(self.b * x))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(a_init=self.a_init, b_init=self.b_init)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class WeightedSum(keras.layers.Layer):
    """Sum of a list of same-shaped tensors with trainable scalar weights.

    Args:
        init: float, default 1.0. Initial value of every weight.

    Shapes: list of ``[...]`` tensors -> ``[...]``.
    """

    def __init__(self, init=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init = float(init)

    def build(self, input_shape):
        n = len(input_shape)
        self.w = self.add_weight(name="head_weights", shape=(n,),
                                 initializer=keras.initializers.Constant(self.init))

    def call(self, inputs):
        out = self.w[0] * inputs[0]
        for i in range(1, len(inputs)):
            out = out + self.w[i] * inputs[i]
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update(init=self.init)
        return config
