"""The AudioRNN network and its single-step twin (any Keras backend).

Network (as the original), for windows of T codes scaled to [0, 1]:

    x [B, T, 1] -> Dense(n, relu) per step -> BN -> concat x   [B, T, n+1]
                -> GRU(n, return_sequences) -> BN -> concat x   [B, T, n+1]
                -> GRU(n) -> BN -> Dense(256, softmax)           [B, 256]

trained with sparse categorical cross-entropy, RMSprop(1e-3), accuracy.

`StepModel` wires the trained layers (the Dense/BN layers and the GRU
layers' cells, hence their weights) into a one-step model
[x_t, h1, h2] -> [p(x_{t+1}), h1', h2'] for fast generation (generation.py,
TensorFlow-only).  Everything here uses `keras.ops` and runs on any backend.
"""
import keras
from keras import layers, ops

N_CODES = 256
LAYER_NAMES = ("dense_in", "bn_in", "gru_1", "bn_1", "gru_2", "bn_2", "dense_out")


def build_model(timesteps=1000, neurons=256):
    """The AudioRNN network.

    Args:
        timesteps: int T, window length (None accepts any length).
        neurons: int n, width of the Dense and GRU layers (256).
    Returns:
        keras.Model [B, T, 1] float (codes / 255) -> [B, 256] softmax.

    Example:
        >>> model = build_model(timesteps=32, neurons=16)
        >>> compile_model(model)
    """
    x = keras.Input((timesteps, 1), name="codes")
    h = layers.Dense(neurons, activation="relu", name="dense_in")(x)
    h = layers.BatchNormalization(name="bn_in")(h)
    h = layers.Concatenate(name="concat_in")([h, x])
    h = layers.GRU(neurons, return_sequences=True, name="gru_1")(h)
    h = layers.BatchNormalization(name="bn_1")(h)
    h = layers.Concatenate(name="concat_1")([h, x])
    h = layers.GRU(neurons, name="gru_2")(h)
    h = layers.BatchNormalization(name="bn_2")(h)
    # float32 under --mixed_precision: the softmax and the loss stay in full precision
    y = layers.Dense(N_CODES, activation="softmax", dtype="float32", name="dense_out")(h)
    return keras.Model(x, y, name="audiornn")


def compile_model(model, learning_rate=1e-3, accumulate=1):
    """RMSprop + sparse categorical cross-entropy + accuracy (no XLA: it slows GRUs on CPU).

    Args:
        accumulate: int; > 1 averages the gradients of that many successive
            (micro-)batches before each update, so a batch of B can be fed as
            `accumulate` micro-batches of B / accumulate, dividing the memory
            held for back-propagation through the T steps (batch norm then
            normalises over each micro-batch).
    """
    optimizer = keras.optimizers.RMSprop(
        learning_rate, gradient_accumulation_steps=accumulate if accumulate > 1 else None)
    model.compile(optimizer=optimizer,
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)
    return model


def model_dims(model):
    """(timesteps, neurons) of a model made by build_model."""
    return model.input_shape[1], model.get_layer("gru_1").units


class StepModel(keras.Model):
    """One-step twin of an AudioRNN model, sharing its layers (hence its weights).

    call([x_t [B, 1], h1 [B, n], h2 [B, n]]) -> [probs [B, 256], h1', h2'].
    Call it with training=False (batch norm then uses its moving statistics).

    Args:
        model: a model made by build_model (trained or not).
    """

    def __init__(self, model, **kwargs):
        super().__init__(name="audiornn_step", **kwargs)
        get = model.get_layer
        self.dense_in, self.bn_in = get("dense_in"), get("bn_in")
        self.gru_1, self.bn_1 = get("gru_1"), get("bn_1")
        self.gru_2, self.bn_2 = get("gru_2"), get("bn_2")
        self.dense_out = get("dense_out")

    def call(self, inputs, training=False):
        x, h1, h2 = inputs
        # The per-time-step layers were built on [B, T, features]: give them a
        # time axis of length 1, and drop it for the GRU cells.
        x3 = ops.expand_dims(x, 1)
        a = self.bn_in(self.dense_in(x3), training=training)
        a = ops.concatenate([a, x3], axis=-1)[:, 0]
        o1, _ = self.gru_1.cell(a, [h1], training=training)
        a = self.bn_1(ops.expand_dims(o1, 1), training=training)
        a = ops.concatenate([a, x3], axis=-1)[:, 0]
        o2, _ = self.gru_2.cell(a, [h2], training=training)
        probs = self.dense_out(self.bn_2(o2, training=training))
        return probs, o1, o2


def build_step_model(model):
    """The StepModel of `model` (layers and weights shared, nothing copied)."""
    return StepModel(model)
