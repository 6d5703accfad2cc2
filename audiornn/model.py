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
import keras
import numpy as np
from keras import layers

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
    y = layers.Dense(N_CODES, activation="softmax", name="dense_out")(h)
    return keras.Model(x, y, name="audiornn")


def compile_model(model, learning_rate=1e-3):
    """RMSprop + sparse categorical cross-entropy + accuracy (no XLA: it slows GRUs on CPU)."""
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)
    return model


def model_dims(model):
    """(timesteps, neurons) of a model made by build_model."""
    return model.input_shape[1], model.get_layer("gru_1").units


def build_step_model(model):
    """One-step model sharing `model`'s layers (and so its trained weights).

    Returns:
        keras.Model [x_t [B, 1], h1 [B, n], h2 [B, n]] -> [probs [B, 256], h1', h2'].
        Call it with training=False (batch norm uses its moving statistics).
    """
    get = model.get_layer
    neurons = get("gru_1").units
    x = keras.Input((1,), name="x_t")
    h1 = keras.Input((neurons,), name="h1")
    h2 = keras.Input((neurons,), name="h2")
    # The per-time-step layers were built on [B, T, features]: keep a time
    # axis of length 1 around them, drop it around the GRU cells.
    x3 = layers.Reshape((1, 1))(x)
    a = get("bn_in")(get("dense_in")(x3))
    a = layers.Reshape((neurons + 1,))(layers.Concatenate()([a, x3]))
    o1, _ = get("gru_1").cell(a, [h1])
    a = get("bn_1")(layers.Reshape((1, neurons))(o1))
    a = layers.Reshape((neurons + 1,))(layers.Concatenate()([a, x3]))
    o2, _ = get("gru_2").cell(a, [h2])
    probs = get("dense_out")(get("bn_2")(o2))
    return keras.Model([x, h1, h2], [probs, o1, o2], name="audiornn_step")


class StatefulGenerator:
    """Fast generation: one network step per new sample, several streams at once.

    Args:
        model: a trained model from build_model (its weights are shared, not copied).
        jit_compile: bool, compile the generation loop with XLA (default True:
            the loop of tiny matmuls is dominated by per-op overhead, which XLA
            removes).

    Example:
        >>> gen = StatefulGenerator(model)
        >>> codes = gen(seed_codes, n_samples=8000, temperature=0.0)  # [S, 8000] uint8
    """

    def __init__(self, model, jit_compile=True):
        import tensorflow as tf

        self.step = build_step_model(model)
        self.neurons = model.get_layer("gru_1").units
        step = self.step

        def run(seed_codes, n_samples, temperature, rng_seed):
            # seed_codes int32 [S, L]; returns int32 [S, n_samples].
            streams = tf.shape(seed_codes)[0]
            zeros = tf.zeros([streams, self.neurons], tf.float32)
            seed_x = tf.cast(seed_codes, tf.float32) / 255.0

            def warm(t, h1, h2):
                _, h1, h2 = step([seed_x[:, t:t + 1], h1, h2], training=False)
                return t + 1, h1, h2

            _, h1, h2 = tf.while_loop(lambda t, *_: t < tf.shape(seed_x)[1] - 1, warm,
                                      (tf.constant(0), zeros, zeros))
            out = tf.TensorArray(tf.int32, size=n_samples)

            def gen(i, x, h1, h2, out):
                probs, h1, h2 = step([x, h1, h2], training=False)
                code = tf.cond(temperature > 0,
                               lambda: _sample(probs, temperature, rng_seed, i),
                               lambda: tf.argmax(probs, axis=-1, output_type=tf.int32))
                out = out.write(i, code)
                return i + 1, tf.cast(code, tf.float32)[:, None] / 255.0, h1, h2, out

            _, _, _, _, out = tf.while_loop(lambda i, *_: i < n_samples, gen,
                                            (tf.constant(0), seed_x[:, -1:], h1, h2, out))
            return tf.transpose(out.stack())

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
        out = self._run(tf.constant(seed_codes), tf.constant(int(n_samples)),
                        tf.constant(float(temperature)), tf.constant(int(seed)))
        return out.numpy().astype(np.uint8)


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

    predict = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
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
