"""Interrupted AudioRNN training resumes exactly (issue 22): ``python -m audiornn.AudioRNN -t``
killed with SIGKILL in the middle of an epoch after its first checkpoint, re-run with the same
command (``--resume`` is the default) and compared with an uninterrupted run started alongside
(deterministic kernels, one thread, ``--seed 0``; tests/resume_probe.py).
"""
import keras
import pytest

from dsp.resume import checkpoint_state
from tests.audiornn.tones import write_tones
from tests.resume_probe import check_resume

EPOCHS, STEPS = 3, 60
TOLERANCE = 0.0  # one thread, deterministic kernels, the same batches: bit-identical


def _load(folder):
    model = keras.saving.load_model(folder / "a.latest.keras")
    return [keras.ops.convert_to_numpy(w) for w in model.weights], int(model.optimizer.iterations)


@pytest.mark.slow
def test_audiornn_resumes_exactly_after_sigkill(tmp_path):
    data = write_tones(tmp_path / "wavs", n_files=2, seconds=1.0)

    def command(folder):
        return ["-m", "audiornn.AudioRNN", "-t", "-d", str(data), "-ts", "32", "-n", "32", "-b", "32",
                "-e", str(EPOCHS), "--steps_per_epoch", str(STEPS), "--val_windows", "64",
                "--learning_rate", "0.01", "--seed", "0", "-m", str(folder / "a.keras")]

    result = check_resume(
        tmp_path, command,
        lambda folder: (checkpoint_state(folder / "a.latest.keras") or {}).get("epochs_done", 0),
        _load, lambda n: f"after epoch {n}", EPOCHS, STEPS, log=lambda folder: folder / "a.log.csv",
        loss_keys=("loss", "val_loss"), tolerance=TOLERANCE, name="AudioRNN")
    assert result["resumed_from"] == result["saved"] >= 1
    # the best checkpoints (lowest val_loss) agree too, and so does the state that tells which
    best, ref = (keras.saving.load_model(tmp_path / d / "a.keras").get_weights() for d in ("run", "reference"))
    assert all(float(abs(a - b).max()) <= TOLERANCE for a, b in zip(best, ref))
    states = [checkpoint_state(tmp_path / d / "a.latest.keras") for d in ("run", "reference")]
    assert states[0] == states[1] and states[0]["epochs_done"] == EPOCHS
