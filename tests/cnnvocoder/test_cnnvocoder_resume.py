"""Interrupted CNN-vocoder training resumes exactly (issue 22): ``python -m cnnvocoder.train``
killed with SIGKILL in the middle of an epoch after its first checkpoint, re-run with the same
command (``--resume`` is the default) and compared with an uninterrupted run started alongside
(deterministic kernels, one thread, ``--seed 0``; tests/resume_probe.py).
"""

import keras
import numpy as np
import pytest

from cnnvocoder import train  # noqa: F401 (registers the layers and losses the checkpoints use)
from dsp.resume import checkpoint_state
from tests.cnnvocoder.tone_segments import write_tone_segments
from tests.resume_probe import check_resume

EPOCHS, STEPS = 3, 12
TOLERANCE = 0.0  # one thread, deterministic kernels, the same batches: bit-identical
TINY = dict(prenet_channels=[2, 2], upsample_channels=[4] * 8, postnet_blocks=1,
            postnet_channels=4, batch_size=2)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_tone_segments(tmp_path_factory.mktemp("cnnvocoder_resume"), TINY)


def _load(folder):
    model = keras.saving.load_model(folder / "last.keras")
    return [keras.ops.convert_to_numpy(w) for w in model.weights], int(model.optimizer.iterations)


@pytest.mark.slow
def test_cnnvocoder_resumes_exactly_after_sigkill(data, tmp_path):
    def command(folder):
        return ["-m", "cnnvocoder.train", "--data_dir", str(data / "seg"), "--model_dir", str(folder),
                "--preset", str(data / "tiny.json"), "--epochs", str(EPOCHS),
                "--steps_per_epoch", str(STEPS), "--validation_steps", "1", "--sample_every", "100",
                "--seed", "0"]

    result = check_resume(tmp_path, command,
                          lambda folder: (checkpoint_state(folder / "last.keras") or {}).get("epoch", 0),
                          _load, lambda n: f"at epoch {n}", EPOCHS, STEPS,
                          log=lambda folder: folder / "log.csv", loss_keys=("loss", "val_loss"),
                          tolerance=TOLERANCE, name="CNN vocoder")
    assert result["resumed_from"] == result["saved"] >= 1
    # the final checkpoints hold the same weights too, and say which epoch they are
    final, ref = _load(tmp_path / "run"), _load(tmp_path / "reference")
    assert all(np.array_equal(a, b) for a, b in zip(final[0], ref[0])) and final[1] == ref[1]
    assert checkpoint_state(tmp_path / "run" / "last.keras")["epoch"] == EPOCHS
