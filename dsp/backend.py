"""Keras backend checks for the few TensorFlow-only parts of the toolkit.

Model code uses `keras.ops` and runs on any Keras backend. A handful of
training and generation paths are written against TensorFlow itself (a GAN's
`tf.GradientTape` step, `tf.function` / `tf.while_loop` generators, compiled
inference calls through `compiled_function`); they call `require_tensorflow` first so that
another backend gets one clear error instead of a deep traceback. `load_keras_model` loads a checkpoint the same
way: a missing, truncated or foreign file gives one line naming it.
"""
import zipfile
from pathlib import Path

import keras

from dsp.audio import InputError


class BackendError(RuntimeError):
    """A TensorFlow-only code path was called under another Keras backend."""


def is_tensorflow():
    """True when Keras runs on the TensorFlow backend."""
    return keras.backend.backend() == "tensorflow"


def require_tensorflow(what):
    """Raise BackendError unless the Keras backend is TensorFlow.

    Args:
        what: str, the feature that needs TensorFlow (named in the message).
    """
    if not is_tensorflow():
        raise BackendError(
            f"{what} needs the TensorFlow backend of Keras, but KERAS_BACKEND is "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow")


def compiled_function(fn, shapes, what="a compiled call"):
    """``fn`` as a ``tf.function`` over float32 tensors of ``shapes`` (TensorFlow only).

    The one place inference code compiles a Keras call: a fixed input signature with
    ``None`` for the length, so that every input length runs the same graph instead of
    retracing per utterance.

    Args:
        fn: callable of ``len(shapes)`` tensors.
        shapes: list of shapes, e.g. ``[[1, None, 1025]]``.
        what: named in the BackendError under another backend.
    """
    require_tensorflow(what)
    import tensorflow as tf  # lazy: TensorFlow exists only on its backend

    return tf.function(fn, input_signature=[tf.TensorSpec(s, tf.float32) for s in shapes])


def load_keras_model(path, what="model", **kwargs):
    """``keras.saving.load_model(path, **kwargs)`` with one-line errors naming the file.

    Args:
        path: a ``.keras`` file.
        what: str, what the file is ("vocoder", "checkpoint", ...), named in the messages.
        **kwargs: passed on (``compile``, ``custom_objects``, ...).
    Returns:
        The Keras model.
    Raises:
        InputError: ``"<path>: <problem>"`` when the file is missing, a folder, not a
            complete ``.keras`` archive (truncated by a full disk or a killed copy) or a
            model Keras cannot rebuild (e.g. a layer whose code is not imported).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a .keras {what} file")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        raise InputError(f"{path}: cannot load the {what}: not a complete .keras archive "
                         f"(truncated or corrupt file)")
    try:
        return keras.saving.load_model(path, **kwargs)
    except Exception as exc:  # zip, HDF5 and deserialisation errors come in many types
        reason = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")[:300]
        raise InputError(f"{path}: cannot load the {what} ({type(exc).__name__}: {reason})") from None
