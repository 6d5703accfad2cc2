"""Keras backend checks for the few TensorFlow-only parts of the toolkit.

Model code uses `keras.ops` and runs on any Keras backend. A handful of
training and generation paths are written against TensorFlow itself (a GAN's
`tf.GradientTape` step, `tf.function` / `tf.while_loop` generators); they call
`require_tensorflow` first so that another backend gets one clear error
instead of a deep traceback.
"""
import keras


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
