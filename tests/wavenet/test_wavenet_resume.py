"""Interrupted WaveNet training resumes exactly (issue 22): ``python -m wavenet.train`` with the
weight average (``--ema``) and the learning-rate staircase (``--lr_halve_every``), killed with
SIGKILL in the middle of an epoch after its first checkpoint, re-run with the same command
(``--resume`` is the default) and compared with an uninterrupted run started alongside
(deterministic kernels, one thread, ``--seed 0``; tests/resume_probe.py).
"""
import keras
import numpy as np
import pytest

from dsp.audio import write_wav
from dsp.resume import checkpoint_state
from tests.resume_probe import check_resume
from wavenet.model import load_vocoder

EPOCHS, STEPS = 3, 10
TOLERANCE = 0.0  # one thread, deterministic kernels, the same batches: bit-identical


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wavenet_resume")
    t = np.arange(22050) / 22050
    for f0 in (150.0, 220.0):
        x = sum(0.3 / h * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 6))
        write_wav(folder / f"tone_{int(f0)}.wav", x, 22050)
    return folder


def _load(folder):
    model, _ = load_vocoder(folder / "ckpt" / "latest.keras", compile=True)
    return [keras.ops.convert_to_numpy(w) for w in model.weights], int(model.optimizer.iterations)


@pytest.mark.slow
def test_wavenet_resumes_exactly_after_sigkill(data, tmp_path):
    def command(folder):
        return ["-m", "wavenet.train", "--data_dir", str(data), "--out_dir", str(folder),
                "--n_layers", "4", "--n_stacks", "2", "--residual_channels", "8",
                "--epochs", str(EPOCHS), "--steps_per_epoch", str(STEPS), "--batch_size", "2",
                "--window_frames", "2", "--lr", "3e-3", "--lr_halve_every", "7", "--ema", "0.9",
                "--val_fraction", "0.5", "--val_batches", "1", "--sample_every", "0",
                "--sample_frames", "1", "--seed", "0"]

    def saved_epoch(folder):
        return (checkpoint_state(folder / "ckpt" / "latest.keras") or {}).get("epoch", 0)

    result = check_resume(tmp_path, command, saved_epoch, _load, lambda n: f"at epoch {n} ",
                          EPOCHS, STEPS, log=lambda folder: folder / "log.csv",
                          loss_keys=("loss", "val_loss"), tolerance=TOLERANCE, name="WaveNet")
    assert result["resumed_from"] == result["saved"] >= 1
    # what a user vocodes with: the final vocoder and the weight average agree too
    for name in ("vocoder.keras", "ckpt/ema.keras"):
        run, ref = (load_vocoder(tmp_path / d / name)[0].get_weights() for d in ("run", "reference"))
        assert max(float(np.max(np.abs(a - b))) for a, b in zip(run, ref)) <= TOLERANCE, name
