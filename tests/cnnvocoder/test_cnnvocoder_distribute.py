"""CNN-vocoder training under ``--distribute`` (issue 23): ``python -m cnnvocoder.train`` with
``--distribute mirrored --logical_cpus 2`` takes the step of ``--distribute none`` (same global
batch of 2, seed and data; deterministic kernels, one thread: tests/distribute_probe.py), and a
``--mixed_precision`` run trains with a float32 waveform.

What can be compared: at initialisation the network's output is near silence and the spectral
loss takes logarithms of near-zero STFT magnitudes, so its gradient is ill-conditioned: the
training-mode outputs of the two runs differ by 1e-4 relative (BatchNorm statistics of ~10^5 values
per channel summed in another order, on inputs whose mean is large next to their spread), and their
gradients by 5 % (relative norm) while their losses agree to 3e-6 (measured). Adam's first step is
lr * g / (|g| + 1e-7): +-lr wherever the gradient is not tiny, so after it the runs agree except
for the weights whose gradient is within the rounding of zero (2.4 % of them move by more than 1 %
of a step, measured); with per-replica BatchNorm statistics half of them do. From the second step
on these differences feed back through the ill-conditioned gradient and the runs part (85 % of the
weights differ by more than 5 % of a step after two steps), so the comparison is made after one.
"""
import csv

import keras
import numpy as np
import pytest

from cnnvocoder import train  # noqa: F401 (registers the losses the checkpoints use)
from cnnvocoder.config import make_config
from cnnvocoder.model import build_model
from tests.cnnvocoder.tone_segments import write_tone_segments
from tests.distribute_probe import MIRRORED, finite_losses, run_settings

LR = 1e-3  # the preset's learning rate
TINY = dict(prenet_channels=[2, 2], upsample_channels=[4] * 8, postnet_blocks=1, postnet_channels=4,
            batch_size=2, learning_rate=LR)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_tone_segments(tmp_path_factory.mktemp("cnnvocoder_distribute"), TINY)


def _log(folder):
    with open(folder / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_mirrored_takes_the_one_device_step_and_mixed_precision_trains(data, tmp_path):
    def command(folder):
        return ["-m", "cnnvocoder.train", "--data_dir", str(data / "seg"), "--model_dir", str(folder),
                "--preset", str(data / "tiny.json"), "--epochs", "1", "--steps_per_epoch", "1",
                "--validation_steps", "1", "--sample_every", "100", "--seed", "0"]

    runs = run_settings(tmp_path, command, {"none": ("--distribute", "none"), "mirrored": MIRRORED,
                                            "mixed": ("--mixed_precision",)})
    assert "2 replica(s) in sync, global batch 2 (1 per replica)" in runs["mirrored"]["log"]
    one, two = runs["none"], runs["mirrored"]
    # the step's loss (the initial weights on the same batch): equal, and scaled as on one device
    loss = [float(_log(run["folder"])[0]["loss"]) for run in (one, two)]
    assert abs(loss[1] - loss[0]) <= 1e-5 * loss[0], loss
    weights = build_model(make_config(**TINY)).weights   # in the order the probe saves them
    step = [(w.trainable, np.abs(a - b), np.abs(a)) for w, a, b in zip(weights, one["final"], two["final"])]
    d = np.concatenate([diff.ravel() for trainable, diff, _ in step if trainable])
    apart = float(np.mean(d > 0.01 * LR))
    statistics = max(float(diff.max() / size.max()) for trainable, diff, size in step if not trainable)
    print(f"\nCNN vocoder, one step: {apart:.1%} of the trainable weights differ by > 1 % of a step "
          f"(at most {d.max():.3g}, 2 lr = {2 * LR}); BatchNorm moving statistics within {statistics:.2g} relative")
    assert apart < 0.1 and d.max() <= 2 * LR * 1.01 and statistics < 1e-3

    mixed = runs["mixed"]["folder"]
    finite_losses(_log(mixed), "loss")
    model = keras.saving.load_model(mixed / "last.keras")
    assert model.get_layer("pre_conv").dtype_policy.name == "mixed_bfloat16"  # CPU: bfloat16 compute
    for name in ("out", "softsign", "waveform"):
        assert model.get_layer(name).dtype_policy.name == "float32", name
    assert model.output.dtype == "float32"
