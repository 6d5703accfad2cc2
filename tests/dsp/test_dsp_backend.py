"""dsp.backend: TensorFlow-only code paths refuse other Keras backends clearly."""
import zipfile

import keras
import pytest

from dsp.audio import InputError
from dsp.backend import BackendError, is_tensorflow, load_keras_model, require_tensorflow


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


def test_load_keras_model_names_the_file_and_the_problem(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    good = tmp_path / "good.keras"
    model.save(good)
    assert load_keras_model(good).count_params() == model.count_params()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(good.read_bytes()[:good.stat().st_size // 2])
    (tmp_path / "folder.keras").mkdir()
    text = tmp_path / "text.keras"
    text.write_text("not a model")
    foreign = tmp_path / "foreign.keras"          # a whole zip, but no model in it
    with zipfile.ZipFile(foreign, "w") as z:
        z.writestr("notes.txt", "hello")
    for path, problem in [(tmp_path / "none.keras", "vocoder not found"),
                          (tmp_path / "folder.keras", "is a folder"),
                          (cut, "not a complete .keras archive"), (text, "not a complete .keras archive"),
                          (foreign, "cannot load the vocoder (")]:
        with pytest.raises(InputError) as info:
            load_keras_model(path, "vocoder")
        assert str(info.value).startswith(f"{path}: ") and problem in str(info.value)
        assert "\n" not in str(info.value)
