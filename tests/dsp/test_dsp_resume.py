"""dsp.resume: checkpoints that hold their own resume state, SeedGenerator states, log trimming."""
import json

import keras
import numpy as np

from dsp.resume import (SEED_KEY, checkpoint_state, restore_seed_states, save_checkpoint,
                        seed_states, trim_csv_log)


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((8, 3), np.float32)
    model.fit(x, x[:, :2], batch_size=4, epochs=1, verbose=0)
    return model


def test_state_is_stored_inside_keras_and_h5_checkpoints(tmp_path):
    model = _model()
    for name in ("m.keras", "m.weights.h5"):
        save_checkpoint(model, tmp_path / name, {"epoch": 3, "best": 0.5}, state_path=tmp_path / f"{name}.json")
        state = checkpoint_state(tmp_path / name)
        assert state["epoch"] == 3 and state["best"] == 0.5
        assert json.loads((tmp_path / f"{name}.json").read_text()) == state
    # Keras ignores what was added: the model, its optimizer step and weights load back
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert int(loaded.optimizer.iterations) == 2
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.load_weights(tmp_path / "m.weights.h5")
    assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_checkpoints_without_a_stored_state(tmp_path):
    model = _model()
    model.save(tmp_path / "old.keras")
    model.save_weights(tmp_path / "old.weights.h5")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    for name in ("old.keras", "old.weights.h5", "junk.keras", "missing.keras"):
        assert checkpoint_state(tmp_path / name) is None


def test_dropout_stream_continues_after_restore(tmp_path):
    """Keras saves no SeedGenerator: without the stored state a reloaded model would draw
    the dropout masks of step 0 again."""
    model = _model()
    states = seed_states(model)
    assert len(states) == 1 and states[0] != [0, 0]  # one Dropout, advanced by two steps
    save_checkpoint(model, tmp_path / "m.keras", {"epoch": 1})
    state = checkpoint_state(tmp_path / "m.keras")
    assert state[SEED_KEY] == states
    x = np.ones((4, 3), np.float32)
    expected = keras.ops.convert_to_numpy(model(x, training=True))  # the next mask of the stream
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    fresh = keras.ops.convert_to_numpy(loaded(x, training=True))
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert restore_seed_states(loaded, state)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x, training=True)), expected)
    assert not np.array_equal(fresh, expected)
    assert not restore_seed_states(loaded, {"epoch": 1})  # nothing stored: nothing done


def test_trim_csv_log_keeps_the_saved_epochs(tmp_path):
    log = tmp_path / "log.csv"
    log.write_bytes(b"epoch,loss\r\n0,1.5\r\n1,1.25\r\n2,1.0\r\n")
    trim_csv_log(log, 2)
    assert log.read_bytes() == b"epoch,loss\r\n0,1.5\r\n1,1.25\r\n"  # Keras' line ends kept
    trim_csv_log(log, 5)
    assert log.read_bytes() == b"epoch,loss\r\n0,1.5\r\n1,1.25\r\n"
    trim_csv_log(tmp_path / "missing.csv", 1)  # nothing to do
    (tmp_path / "other.csv").write_text("step,loss\n7,1\n")
    trim_csv_log(tmp_path / "other.csv", 0)
    assert (tmp_path / "other.csv").read_text() == "step,loss\n7,1\n"
