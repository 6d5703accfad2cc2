"""dsp.backend: TensorFlow-only code paths refuse other Keras backends clearly."""
import keras
import pytest

from dsp.backend import BackendError, is_tensorflow, require_tensorflow


def test_require_tensorflow_passes_on_tensorflow():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the test session runs another Keras backend")
    assert is_tensorflow()
    require_tensorflow("the GAN training step")  # no error


def test_require_tensorflow_names_the_feature_on_another_backend(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert not is_tensorflow()
    with pytest.raises(BackendError) as info:
        require_tensorflow("the GAN training step")
    message = str(info.value)
    assert "the GAN training step" in message and "'jax'" in message
    assert "KERAS_BACKEND=tensorflow" in message and "\n" not in message
