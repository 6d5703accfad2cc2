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


TARGETS = ("last", "all")


def build_model(timesteps=1000, neurons=256, targets="last", warmup=0):
    """The AudioRNN network.

    Args:
        timesteps: int T, window length (None accepts any length).
        neurons: int n, width of the Dense and GRU layers (256).
        targets: "last" (the original: one prediction per window, the code after
            it) or "all" (a prediction after every step, so a window of T codes
            trains on T - warmup targets instead of 1; same layers and weights).
        warmup: int, with targets "all": the first `warmup` steps, whose context
            is too short to predict from, are cropped from the output.
    Returns:
        keras.Model [B, T, 1] float (codes / 255) -> [B, 256] softmax ("last")
        or [B, T - warmup, 256] ("all"; output t predicts code t + warmup + 1).

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
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {TARGETS}, got {targets!r}")
    if targets == "all" and timesteps is not None and not 0 <= warmup < timesteps:
        raise ValueError(f"warmup must be in [0, timesteps), got {warmup}")
    h = layers.GRU(neurons, return_sequences=targets == "all", name="gru_2")(h)
    h = layers.BatchNormalization(name="bn_2")(h)
    if targets == "all" and warmup:
        h = layers.Cropping1D((int(warmup), 0), name="crop_warmup")(h)
    # float32 under --mixed_precision: the softmax and the loss stay in full precision
    y = layers.Dense(N_CODES, activation="softmax", dtype="float32", name="dense_out")(h)
    return keras.Model(x, y, name="audiornn")


def compile_model(model, learning_rate=1e-3, accumulate=1, lr_halve_every=None):
    """RMSprop + sparse categorical cross-entropy + accuracy (no XLA: it slows GRUs on CPU).

    Args:
        learning_rate: float, RMSprop's (initial) learning rate.
        lr_halve_every: int or None; halves the learning rate every that many
            updates (a schedule saved with the optimizer, so resuming keeps it).
        accumulate: int; > 1 averages the gradients of that many successive
            (micro-)batches before each update, so a batch of B can be fed as
            `accumulate` micro-batches of B / accumulate, dividing the memory
            held for back-propagation through the T steps (batch norm then
            normalises over each micro-batch).
    """
    if lr_halve_every:
        learning_rate = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, int(lr_halve_every), 0.5, staircase=True)
    optimizer = keras.optimizers.RMSprop(
        learning_rate, gradient_accumulation_steps=accumulate if accumulate > 1 else None)
    model.compile(optimizer=optimizer,
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)
    return model


def model_dims(model):
    """(timesteps, neurons) of a model made by build_model."""
    return model.input_shape[1], model.get_layer("gru_1").units


def model_targets(model):
    """(targets, warmup) of a model made by build_model: ("last", 0) or ("all", warmup)."""
    shape = model.output_shape
    if len(shape) == 2:
        return "last", 0
    return "all", int(model.input_shape[1] - shape[1])


def last_step(probs):
    """The prediction for the code after each window: [B, 256] from [B, 256] or [B, T', 256]."""
    return probs[:, -1] if len(probs.shape) == 3 else probs


def recalibrate_batch_norm(model, batches):
    """Set every BatchNormalization's moving statistics to the average over `batches`.

    Training uses each batch's own statistics, inference (validation, generation)
    the moving averages (momentum 0.99), which lag behind weights that are still
    changing: on real speech at 1e-3 this cost 0.2-0.3 nats per sample in
    inference mode.  Running the model in training mode over a few batches
    with the momentum set to k / (k + 1) at batch k makes the moving statistics
    the plain mean over them, for the current weights ("precise BN").  Each
    layer sees inputs normalised by the batch statistics of the layers before,
    as in training.  Trainable weights are not touched; momenta are restored.

    Args:
        model: a model made by build_model.
        batches: iterable of inputs [B, T, 1] (e.g. training windows' X).
    Returns:
        int, the number of batches used.
    """
    norms = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    k = 0
    try:
        for k, x in enumerate(batches, start=1):
            for layer in norms:
                layer.momentum = (k - 1) / k
            model(x, training=True)
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum
    return k


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
        # bn_2 and dense_out were built on [B, T, n] in a model with targets "all"
        self.sequence_out = len(model.output_shape) == 3

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
        if self.sequence_out:
            probs = self.dense_out(self.bn_2(ops.expand_dims(o2, 1), training=training))[:, 0]
        else:
            probs = self.dense_out(self.bn_2(o2, training=training))
        return probs, o1, o2


def build_step_model(model):
    """The StepModel of `model` (layers and weights shared, nothing copied)."""
    return StepModel(model)
