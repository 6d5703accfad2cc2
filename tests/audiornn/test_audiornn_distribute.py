"""AudioRNN training under ``--distribute`` (issue 23): ``python -m audiornn.AudioRNN -t`` with
``--distribute mirrored --logical_cpus 2`` ends with the weights of ``--distribute none`` (same
global batch, seed and data; deterministic kernels, one thread: tests/distribute_probe.py), and a
``--mixed_precision`` run trains with a float32 output.

Measured (2 epochs x 3 steps, batch 8 = 2 x 4, RMSprop 1e-3): max |w_mirrored - w_none| = 7.4e-7
over the weights the loss depends on, while training moves them by up to 6e-2; with per-replica
BatchNorm statistics (no `dsp.replicas.synchronize_batch_norm`) the difference is 1e-2.
"""
import csv

import keras
import pytest

from audiornn.model import build_model
from tests.audiornn.tones import write_tones
from tests.distribute_probe import compare, finite_losses, run_settings

TOLERANCE = 5e-6
# dense_in's bias feeds a BatchNormalization, which subtracts it again: its gradient is zero in
# exact arithmetic, so its value is rounding noise (which RMSprop scales up to steps of ~lr).
NO_GRADIENT = ("dense_in/bias",)
TS, N = 16, 8


@pytest.mark.slow
def test_mirrored_equals_one_device_and_mixed_precision_trains(tmp_path):
    data = write_tones(tmp_path / "wavs", n_files=2, seconds=1.0)

    def command(folder):
        return ["-m", "audiornn.AudioRNN", "-t", "-d", str(data), "-ts", str(TS), "-n", str(N), "-b", "8",
                "-e", "2", "--steps_per_epoch", "3", "--val_windows", "16", "--learning_rate", "0.001",
                "--seed", "0", "-m", str(folder / "a.keras")]

    runs = run_settings(tmp_path, command, {"none": ("--distribute", "none"),
                                            "mirrored": ("--distribute", "mirrored", "--logical_cpus", "2"),
                                            "mixed": ("--mixed_precision", "-e", "1")})
    assert "distribute: none (one device), batch 8" in runs["none"]["log"]
    assert "2 replica(s) in sync, global batch 8 (4 per replica)" in runs["mirrored"]["log"]
    names = [w.path for w in build_model(TS, N).weights]   # the order the probe saves them in
    skip = [names.index(name) for name in NO_GRADIENT]
    diff, moved = compare(runs["none"], runs["mirrored"], skip)
    print(f"\nAudioRNN: max |w_mirrored - w_none| = {diff:.3g} (tolerance {TOLERANCE}); "
          f"training moved the weights by up to {moved:.3g}")
    assert diff <= TOLERANCE and moved > 100 * TOLERANCE
    # the synchronised BatchNorm is a property of the run: the checkpoint loads on any backend
    saved = keras.saving.load_model(runs["mirrored"]["folder"] / "a.latest.keras")
    assert not any(layer.get_config()["synchronized"] for layer in saved.layers
                   if isinstance(layer, keras.layers.BatchNormalization))

    mixed = runs["mixed"]["folder"]
    with open(mixed / "a.log.csv", newline="") as f:
        finite_losses(list(csv.DictReader(f)), "loss")
    model = keras.saving.load_model(mixed / "a.latest.keras")
    assert model.get_layer("gru_1").dtype_policy.name == "mixed_bfloat16"  # CPU: bfloat16 compute
    assert model.get_layer("dense_out").dtype_policy.name == "float32"
    assert model.output.dtype == "float32" and all(w.dtype == "float32" for w in model.weights)
