"""``python -m wavenet.train --distribute``: two replicas (``mirrored`` over 2 logical CPUs) and two
worker processes (``multi_worker`` started by ``python -m tools.launch``) train the weights of one
device with the same global batch and seed; only the chief writes; a stopped multi-worker run resumes;
``--mixed_precision`` trains with a float32 output layer.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dsp.audio import write_wav
from tests.resume_probe import DETERMINISTIC
from wavenet.model import load_vocoder

REPO = Path(__file__).resolve().parents[2]
# float32 sums of two replicas' gradients against one device's: observed 7.5e-8 after 6 Adam steps
TOLERANCE = 1e-5

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wavenet_distribute_data")
    t = np.arange(22050) / 22050
    for f0 in (150.0, 220.0):
        write_wav(folder / f"tone_{int(f0)}.wav", sum(0.3 / h * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 6)),
                  22050)
    return folder


def _train_command(data, out_dir, *extra):
    return [sys.executable, "-m", "wavenet.train", "--data_dir", str(data), "--out_dir", str(out_dir),
            "--n_layers", "4", "--n_stacks", "2", "--residual_channels", "8", "--epochs", "2",
            "--steps_per_epoch", "3", "--batch_size", "4", "--window_frames", "2", "--lr", "3e-3",
            "--val_fraction", "0.5", "--val_batches", "1", "--sample_every", "0", "--sample_frames", "1",
            "--seed", "0", *extra]


def _run(command, timeout=600):
    env = {**DETERMINISTIC, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def _weights(out_dir):
    return load_vocoder(Path(out_dir) / "vocoder.keras")[0].get_weights()


def _max_difference(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def one_device(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("none")
    _run(_train_command(data, out))
    return out


def test_mirrored_over_two_replicas_equals_one_device(data, one_device, tmp_path):
    result = _run(_train_command(data, tmp_path / "run", "--distribute", "mirrored", "--logical_cpus", "2"))
    assert "2 replica(s) in sync, global batch 4 (2 per replica)" in result.stdout
    reference = _weights(one_device)
    assert _max_difference(_weights(tmp_path / "run"), reference) < TOLERANCE
    # training moved the model (the loss fell), so a wrong distributed step would show in the weights
    losses = np.loadtxt(tmp_path / "run" / "log.csv", delimiter=",", skiprows=1)[:, 1]
    assert len(losses) == 2 and losses[1] < losses[0] - 0.01


def test_two_workers_under_the_launcher_equal_one_device_and_only_the_chief_writes(data, one_device, tmp_path):
    out = tmp_path / "run"
    result = _run([sys.executable, "-m", "tools.launch", "--workers", "2", "--",
                   *_train_command(data, out, "--distribute", "multi_worker")])
    assert "[worker 0] distribute: multi_worker, 2 worker(s), 2 replica(s) in sync" in result.stdout
    assert "[worker 1] distribute: multi_worker" in result.stdout
    assert _max_difference(_weights(out), _weights(one_device)) < TOLERANCE
    # worker 1 wrote into its private copy, which is gone; the run folder holds one log of two epochs
    assert "audiosynth_worker1_" in result.stdout
    private = [ln.split("saved ")[1].split(" ")[0] for ln in result.stdout.splitlines()
               if ln.startswith("[worker 1] saved ")]
    assert private and not Path(private[0]).exists()
    assert (out / "log.csv").read_text().count("\n") == 3


def test_a_multi_worker_run_resumes_from_the_chiefs_checkpoint(data, one_device, tmp_path):
    """Stopped after epoch 1 and re-run with the same command: both workers restart from the chief's
    checkpoint (worker 1 from its private copy of it) and end where one device ends."""
    out = tmp_path / "run"
    first = _train_command(data, out, "--distribute", "multi_worker")
    first[first.index("--epochs") + 1] = "1"
    _run([sys.executable, "-m", "tools.launch", "--workers", "2", "--", *first])
    result = _run([sys.executable, "-m", "tools.launch", "--workers", "2", "--",
                   *_train_command(data, out, "--distribute", "multi_worker")])
    assert "[worker 0] resuming from" in result.stdout and "[worker 1] resuming from" in result.stdout
    assert _max_difference(_weights(out), _weights(one_device)) < TOLERANCE
    assert (out / "log.csv").read_text().count("\n") == 3


def test_mixed_precision_trains_with_a_float32_output(data, one_device, tmp_path):
    _run(_train_command(data, tmp_path / "run", "--mixed_precision"))
    model, _ = load_vocoder(tmp_path / "run" / "vocoder.keras")
    assert model.get_layer("head_1").compute_dtype == "bfloat16"   # CPU: bfloat16 (float16 on GPUs)
    assert model.get_layer("head_out").compute_dtype == "float32"
    losses = np.loadtxt(tmp_path / "run" / "log.csv", delimiter=",", skiprows=1)[:, 1]
    reference = np.loadtxt(one_device / "log.csv", delimiter=",", skiprows=1)[:, 1]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert np.max(np.abs(losses - reference)) < 0.01, "bfloat16 compute strays from the float32 run"
