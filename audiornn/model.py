"""The AudioRNN network, its single-step twin, and sample generation.

Network (as the original), for windows of T codes scaled to [0, 1]:

    x [B, T, 1] -> Dense(n, relu) per step -> BN -> concat x   [B, T, n+1]
                -> GRU(n, return_sequences) -> BN -> concat x   [B, T, n+1]
                -> GRU(n) -> BN -> Dense(256, softmax)           [B, 256]

trained with sparse categorical cross-entropy, RMSprop(1e-3), accuracy.

Generation, two ways with the same weights:
  * `generate_sliding` (the original): for each new sample, run the whole
    T-step network on the last T codes (cost O(T) per sample).
  * `generate_stateful`: `build_step_model` wires the trained layers (the
    Dense/BN layers and the GRU layers' cells, hence their weights) into a
    one-step model [x_t, h1, h2] -> [p(x_{t+1}), h1', h2'].  The seed window
    is fed step by step from zero states (which reproduces the full model's
    prediction for it), then each new sample costs one step.  Afterwards the
    two differ only in context: the sliding window restarts its GRUs from zero
    T samples back, the stateful path remembers everything before.
"""
import weakref

import keras
import numpy as np
from keras import layers, ops

N_CODES = 256
_SLIDING_PREDICT = weakref.WeakKeyDictionary()
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
    y = layers.Dense(N_CODES, activation="softmax", name="dense_out")(h)
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


class StatefulGenerator:
    """Fast generation: one network step per new sample, several streams at once.

    The loop runs inside compiled TensorFlow functions (XLA by default: the
    per-step work is a few tiny matmuls, so per-op overhead dominates and XLA
    removes it), in fixed chunks of `chunk` samples so that it compiles once
    whatever the requested length.  GRU states are carried from chunk to chunk.

    Args:
        model: a trained model from build_model (its weights are shared, not copied).
        jit_compile: bool, default True.
        chunk: int, samples per compiled call (default 1000).

    Example:
        >>> gen = StatefulGenerator(model)
        >>> codes = gen(seed_codes, n_samples=8000, temperature=0.0)  # [S, 8000] uint8
    """

    def __init__(self, model, jit_compile=True, chunk=1000):
        import tensorflow as tf

        self.step = build_step_model(model)
        self.neurons = model.get_layer("gru_1").units
        self.chunk = int(chunk)
        step, chunk = self.step, self.chunk

        def warm(seed_x):
            # seed_x float [L, S] (time-major): states after feeding all but the last code.
            zeros = tf.zeros([tf.shape(seed_x)[1], self.neurons], tf.float32)

            def body(t, h1, h2):
                _, h1, h2 = step([tf.gather(seed_x, t)[:, None], h1, h2], training=False)
                return t + 1, h1, h2

            _, h1, h2 = tf.while_loop(lambda t, *_: t < tf.shape(seed_x)[0] - 1, body,
                                      (tf.constant(0), zeros, zeros))
            return h1, h2

        def run(x, h1, h2, temperature, rng_seed, offset):
            # x float [S, 1], the last code; returns codes int32 [S, chunk] and new state.
            out = tf.TensorArray(tf.int32, size=chunk)

            def body(i, x, h1, h2, out):
                probs, h1, h2 = step([x, h1, h2], training=False)
                code = tf.cond(temperature > 0,
                               lambda: _sample(probs, temperature, rng_seed, offset + i),
                               lambda: tf.argmax(probs, axis=-1, output_type=tf.int32))
                out = out.write(i, code)
                return i + 1, tf.cast(code, tf.float32)[:, None] / 255.0, h1, h2, out

            _, x, h1, h2, out = tf.while_loop(lambda i, *_: i < chunk, body,
                                              (tf.constant(0), x, h1, h2, out))
            return tf.transpose(out.stack()), x, h1, h2

        self._warm = tf.function(warm, jit_compile=jit_compile, reduce_retracing=True)
        self._run = tf.function(run, jit_compile=jit_compile, reduce_retracing=True)

    def __call__(self, seed_codes, n_samples, temperature=0.0, seed=0):
        """Continue each seed window.

        Args:
            seed_codes: int [S, L] codes (one row per stream, L >= 1).
            n_samples: int, samples to generate per stream.
            temperature: float, 0 = greedy argmax (the original), > 0 samples
                from softmax(log p / temperature).
            seed: int, sampling seed (streams draw independently).
        Returns:
            uint8 [S, n_samples].
        """
        import tensorflow as tf

        seed_codes = np.atleast_2d(np.asarray(seed_codes, dtype=np.int32))
        seed_x = tf.constant(seed_codes.T.astype(np.float32) / 255.0)
        h1, h2 = self._warm(seed_x)
        x = seed_x[-1][:, None]
        temperature, seed = tf.constant(float(temperature)), tf.constant(int(seed))
        pieces = []
        for offset in range(0, int(n_samples), self.chunk):
            codes, x, h1, h2 = self._run(x, h1, h2, temperature, seed, tf.constant(offset))
            pieces.append(codes.numpy())
        if not pieces:
            return np.zeros((len(seed_codes), 0), np.uint8)
        return np.concatenate(pieces, axis=1)[:, :int(n_samples)].astype(np.uint8)


def _sample(probs, temperature, rng_seed, i):
    import tensorflow as tf

    logits = tf.math.log(tf.maximum(probs, 1e-30)) / temperature
    pair = tf.stack([rng_seed, i])
    return tf.cast(tf.random.stateless_categorical(logits, 1, seed=pair)[:, 0], tf.int32)


def generate_sliding(model, seed_codes, n_samples, temperature=0.0, seed=0, progress=False):
    """The original method: the full T-step network on the last T codes, per sample.

    Args:
        model: model from build_model; seed_codes int [S, T]; others as StatefulGenerator.
    Returns:
        uint8 [S, n_samples].
    """
    import tensorflow as tf
    from tqdm import tqdm

    if model not in _SLIDING_PREDICT:  # trace once per model, not once per call
        _SLIDING_PREDICT[model] = tf.function(lambda x: model(x, training=False),
                                              reduce_retracing=True)
    predict = _SLIDING_PREDICT[model]
    window = np.atleast_2d(np.asarray(seed_codes, dtype=np.int32))
    out = np.empty((window.shape[0], n_samples), np.uint8)
    for i in tqdm(range(n_samples), desc="sliding generation", disable=not progress):
        probs = predict(tf.constant(window[..., None].astype(np.float32) / 255.0))
        if temperature > 0:
            code = _sample(probs, tf.constant(float(temperature)), tf.constant(int(seed)),
                           tf.constant(i)).numpy()
        else:
            code = np.argmax(probs.numpy(), axis=-1)
        out[:, i] = code
        window = np.concatenate([window[:, 1:], code[:, None].astype(np.int32)], axis=1)
    return out
