"""TensorFlow-only: AudioRNN sample generation (compiled tf.function / tf.while_loop loops).

This module imports TensorFlow directly and needs the TensorFlow backend of
Keras: both generators call `dsp.backend.require_tensorflow` first, so another
backend gets one clear error.  Training (AudioRNN.py -t) does not use it;
`generate(args)` is what `python -m audiornn.AudioRNN -g` runs.

Two ways to continue a seed window, with the same weights:
  * `generate_sliding` (the original): for each new sample, run the whole
    T-step network on the last T codes (cost O(T) per sample).
  * `StatefulGenerator`: the model's `StepModel` (model.py) is fed the seed
    window step by step from zero states (which reproduces the full model's
    prediction for it), then each new sample costs one step.  Afterwards the
    two differ only in context: the sliding window restarts its GRUs from zero
    T samples back, the stateful path remembers everything before.
"""
import weakref
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from audiornn.AudioRNNData import codes_to_audio, encode_codes, prime_codes
from audiornn.checkpoint import check_trained, data_cache, model_paths
from audiornn.model import build_step_model, last_step, model_dims
from audiornn.training import load_data
from dsp.audio import notice, write_wav
from dsp.filters import dc_block
from dsp.backend import load_keras_model, require_tensorflow

_SLIDING_PREDICT = weakref.WeakKeyDictionary()


def use_one_thread():
    """One intra-op thread: per-step ops are tiny, cross-core synchronisation dominates.

    Only takes effect before TensorFlow's runtime starts (e.g. not after training
    in the same process); then it does nothing.
    """
    require_tensorflow("AudioRNN generation")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started
        pass


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
        require_tensorflow("AudioRNN stateful generation")
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
    require_tensorflow("AudioRNN sliding-window generation")
    if model not in _SLIDING_PREDICT:  # trace once per model, not once per call
        _SLIDING_PREDICT[model] = tf.function(lambda x: model(x, training=False),
                                              reduce_retracing=True)
    predict = _SLIDING_PREDICT[model]
    window = np.atleast_2d(np.asarray(seed_codes, dtype=np.int32))
    out = np.empty((window.shape[0], n_samples), np.uint8)
    for i in tqdm(range(n_samples), desc="sliding generation", disable=not progress):
        probs = last_step(predict(tf.constant(window[..., None].astype(np.float32) / 255.0)))
        if temperature > 0:
            code = _sample(probs, tf.constant(float(temperature)), tf.constant(int(seed)),
                           tf.constant(i)).numpy()
        else:
            code = np.argmax(probs.numpy(), axis=-1)
        out[:, i] = code
        window = np.concatenate([window[:, 1:], code[:, None].astype(np.int32)], axis=1)
    return out


def seed_windows(cache, val_idx, n_streams, rng):
    """`n_streams` distinct validation windows (the real context each stream continues)."""
    k = rng.choice(len(val_idx), size=n_streams, replace=len(val_idx) < n_streams)
    starts = val_idx.starts(np.sort(k))
    return np.stack([cache.codes[s:s + val_idx.timesteps] for s in starts])


def _starting_codes(args, config, paths, timesteps):
    """Seed codes [S, L] for each stream and the audio written before them (or None).

    --prime FILE: the recording (every stream continues it; it is written
    before the continuation, so the hand-over is heard).  --start data: a
    window of the held-out data per stream (as the original).  --start
    silence, or data that is not there (a shipped model): one window of
    digital silence, i.e. generation from scratch.
    """
    if args.prime:
        x, codes = prime_codes(args.prime, timesteps, config["samplerate"], config["mu"],
                               config["preemphasis"])
        return np.tile(codes, (args.num_streams, 1)), x
    if args.start == "data":
        data_dir = args.data_dir or config["data_dir"]
        held_out = config.get("val_dir")
        if Path(data_dir).is_dir() and (not held_out or Path(held_out).is_dir()):
            args.data_dir, args.val_dir = data_dir, held_out
            cache, _, val_idx = load_data(args, paths)
            return seed_windows(cache, val_idx, args.num_streams, np.random.default_rng(args.seed)), None
        notice(f"{data_dir}: the training data is not here; starting from silence (--start silence)")
    silence = encode_codes(np.zeros(timesteps, np.float32), mu=config["mu"])
    return np.tile(silence, (args.num_streams, 1)), None


def generate(args):
    """Generate with the best checkpoint and write the wav(s).

    Args:
        args: from AudioRNN.parse_arguments (model, audio, data_dir, cache, seed,
            genlength, num_streams, temperature, method, prime, start); the data
            settings and sizes are taken from the configuration saved beside the model.
    Returns:
        uint8 codes [num_streams, n] (without the seed or prime).
    """
    use_one_thread()
    paths = model_paths(args.model)
    config = check_trained(args.model)
    for key in ("samplerate", "mu", "preemphasis", "val_fraction"):
        setattr(args, key, config[key])
    args.cache = args.cache or data_cache(config, paths, args.data_dir)
    model = load_keras_model(paths["best"], "model")
    args.timesteps, args.neurons = model_dims(model)
    seeds, prime = _starting_codes(args, config, paths, args.timesteps)
    n = int(round(args.genlength * args.samplerate))
    start = f"continuing {args.prime}" if args.prime else f"from {args.start}"
    print(f"generating {args.num_streams} x {n} samples ({args.method}, "
          f"temperature {args.temperature}, {start})")
    if args.method == "sliding":
        codes = generate_sliding(model, seeds[:, -args.timesteps:], n, args.temperature,
                                 args.seed, progress=True)
    else:
        codes = StatefulGenerator(model)(seeds, n, args.temperature, args.seed)
    out = Path(args.audio)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for s in range(args.num_streams):
        path = out if args.num_streams == 1 else out.with_name(f"{out.stem}_{s}{out.suffix}")
        # De-emphasis runs over seed + continuation, so the continuation starts from the seed's state.
        audio = codes_to_audio(np.concatenate([seeds[s], codes[s]]), mu=args.mu,
                               coef=args.preemphasis)
        if args.dc_block > 0:   # de-emphasis turns a tiny bias of the codes into an offset
            audio = dc_block(audio, args.samplerate, cutoff=args.dc_block)
        audio = audio[seeds.shape[1]:]
        if prime is not None:
            audio = np.concatenate([prime, audio])
        write_wav(path, audio, args.samplerate)
        written.append(str(path))
    print("wrote " + ", ".join(written) + (f" (the prime, {len(prime) / args.samplerate:.2f} s, "
                                           "then the continuation)" if prime is not None else ""))
    return codes
