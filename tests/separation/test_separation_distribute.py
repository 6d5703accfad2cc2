"""Separation training under ``--distribute`` (issue 23): ``separation.train_encoder`` (the
proposed encoder; B1 is the same trainer and network code with other sizes) and
``separation.train_b2`` with ``--distribute mirrored --logical_cpus 2`` end with the weights of
``--distribute none`` (same global batch, seed and data; deterministic kernels, one thread:
tests/distribute_probe.py), and a ``--mixed_precision`` run of each trains with float32 outputs.

Two epochs of one step each (the second epoch's batch depends on its epoch number). Where the
runs can be compared, measured:
- The encoder's LSTM dropout draws its masks per replica (each replica has its own random
  stream), so it runs with ``--dropout 0`` (its L2 penalty stays: Keras divides it by the
  replicas like the loss). The biases of the residual
  blocks' first two convolutions feed a BatchNormalization that subtracts them again: their
  gradient is zero in exact arithmetic and Adam turns its rounding noise into steps of ~lr, so they
  are left out. The other weights agree within 3e-6 (Adam's first steps are +-lr where a gradient
  is not ~0: a weight whose gradient is near zero shows the rounding most).
- B2 agrees within 6e-7. From its third step on, L1 losses and ReLUs at ~0 on the zero-padded
  window edges (biases start at 0) switch sides by rounding in one run and not the other, and the
  runs part by ~2e-4 (5 % of the movement).
"""
import csv

import keras
import numpy as np
import pytest

import separation.denoising_wavenet  # noqa: F401 (registers the B2 layers its checkpoint uses)
from separation.encoder import EncoderConfig, build_encoder
from tests.separation.mixtures import write_mixtures
from tests.distribute_probe import MIRRORED, compare, finite_losses, run_settings

ENCODER = {"frames": 8, "lstm_linear": 4, "lstm_mel": 4, "res_mid": 4, "res_out": 8, "depth": 1,
           "dropout": 0.0, "l2": 1e-7, "bn_momentum": 0.9}
B2 = {"stacks": 1, "max_dilation_exp": 3, "residual_channels": 4, "gate_channels": 8,
      "skip_channels": 4, "head_channels": [8, 4], "target_field": 50, "ema": 0.9}
SETTINGS = {"none": ("--distribute", "none"), "mirrored": MIRRORED,
            "mixed": ("--mixed_precision", "--epochs", "1")}
ENCODER_TOLERANCE, B2_TOLERANCE = 3e-5, 5e-6


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_mixtures(tmp_path_factory.mktemp("separation_distribute"), {"encoder": ENCODER, "b2": B2})


def _runs(data, tmp_path, module, preset):
    def command(folder):
        return ["-m", module, "--preset", str(data / preset), "--data_dir", str(data / "mix"),
                "--model_dir", str(folder), "--epochs", "2", "--steps_per_epoch", "1", "--batch_size", "4",
                "--max_minutes", "100", "--seed", "0"]
    runs = run_settings(tmp_path, command, SETTINGS)
    assert "2 replica(s) in sync, global batch 4 (2 per replica)" in runs["mirrored"]["log"]
    return runs


def _check_mixed(folder, name, outputs):
    with open(folder / "logs" / name / "history.csv", newline="") as f:
        finite_losses(list(csv.DictReader(f)), "loss")
    model = keras.saving.load_model(folder / f"{name}.keras")
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in model.layers)  # CPU: bfloat16
    assert all(t.dtype == "float32" for t in keras.tree.flatten(model.outputs))
    for layer in outputs:
        assert model.get_layer(layer).dtype_policy.name == "float32", layer
    return model


@pytest.mark.slow
def test_encoder_mirrored_equals_one_device_and_mixed_precision_trains(data, tmp_path):
    runs = _runs(data, tmp_path, "separation.train_encoder", "encoder.json")
    names = [w.path for w in build_encoder("proposed", EncoderConfig.from_dict(ENCODER)).weights]  # probe order
    no_gradient = [i for i, name in enumerate(names) if name.endswith(("conv1/bias", "conv2/bias"))]
    diff, moved = compare(runs["none"], runs["mirrored"], skip=no_gradient)
    print(f"\nencoder: max |w_mirrored - w_none| = {diff:.3g} (tolerance {ENCODER_TOLERANCE}); "
          f"training moved the weights by up to {moved:.3g}")
    assert diff <= ENCODER_TOLERANCE and moved > 20 * ENCODER_TOLERANCE
    model = _check_mixed(runs["mixed"]["folder"], "encoder_proposed", ("out_conv", "proposed_estimate"))
    x = {"linear": np.zeros((1, 8, 512), "float32"), "mel": np.zeros((1, 8, 80), "float32")}
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


@pytest.mark.slow
def test_b2_mirrored_equals_one_device_and_mixed_precision_trains(data, tmp_path):
    runs = _runs(data, tmp_path, "separation.train_b2", "b2.json")
    diff, moved = compare(runs["none"], runs["mirrored"])
    print(f"\nB2: max |w_mirrored - w_none| = {diff:.3g} (tolerance {B2_TOLERANCE}); "
          f"training moved the weights by up to {moved:.3g}")
    assert diff <= B2_TOLERANCE and moved > 100 * B2_TOLERANCE
    _check_mixed(runs["mixed"]["folder"], "b2", ("head_out", "speech", "noise_sub", "noise"))
