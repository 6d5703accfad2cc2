"""dsp.distribute: the worker's place from TF_CONFIG, the global-batch check, private outputs of
non-chief workers, and one-device arithmetic under `mirrored` (the Keras clipping fix).

Trainers' equality across strategies is tested per pipeline (tests/*/test_*_distribute.py).
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dsp.audio import InputError
from dsp.distribute import Distribution, add_distribute_args, setup_distribution, worker_of_tf_config
from tests.resume_probe import DETERMINISTIC

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("config, expected", [
    (None, (0, 1)),
    ({"cluster": {"worker": ["a:1", "b:2", "c:3"]}, "task": {"type": "worker", "index": 2}}, (2, 3)),
    # a "chief" task comes first: it is worker 0, the workers follow
    ({"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "chief", "index": 0}}, (0, 2)),
    ({"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}, (1, 2)),
])
def test_worker_index_from_tf_config(monkeypatch, config, expected):
    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert worker_of_tf_config() == expected


@pytest.mark.parametrize("raw", ["{not json", json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"index": 0}}),
                                 json.dumps({"cluster": {"worker": ["a:1"]},
                                             "task": {"type": "worker", "index": 5}})])
def test_bad_tf_config_is_one_clear_error(monkeypatch, raw):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(InputError, match="TF_CONFIG: not a valid cluster description"):
        worker_of_tf_config()


def test_flags_and_none_strategy():
    p = argparse.ArgumentParser()
    add_distribute_args(p)
    args = p.parse_args([])
    assert (args.distribute, args.logical_cpus, args.mixed_precision) == ("none", 0, False)
    dist = setup_distribution(args)
    assert (dist.strategy, dist.is_chief, dist.num_replicas) == (None, True, 1)
    with pytest.raises(SystemExit):
        p.parse_args(["--distribute", "parameter_server"])
    with pytest.raises(InputError, match="--logical_cpus must be >= 0"):
        setup_distribution(p.parse_args(["--logical_cpus", "-1"]))


def test_global_batch_must_split_evenly_over_the_replicas():
    class TwoReplicas:
        num_replicas_in_sync = 2
    dist = Distribution("mirrored", TwoReplicas())
    dist.check_batch(8)
    with pytest.raises(InputError, match="--batch_size 7: the global batch must be a multiple of the 2 replicas"):
        dist.check_batch(7)


def test_a_non_chief_worker_writes_into_a_private_copy_that_disappears(tmp_path):
    run = tmp_path / "run"
    (run / "ckpt").mkdir(parents=True)
    (run / "ckpt" / "latest.keras").write_bytes(b"weights")
    (run / "samples").mkdir()
    (run / "samples" / "epoch_0001.wav").write_bytes(b"big")
    final = tmp_path / "final.keras"
    args = argparse.Namespace(out_dir=str(run), final=str(final), other="kept")

    chief = Distribution("multi_worker", None, worker_index=0, num_workers=2)
    with chief.private_outputs(args, ("out_dir", "final")):
        assert args.out_dir == str(run)

    worker = Distribution("multi_worker", None, worker_index=1, num_workers=2)
    with worker.private_outputs(args, ("out_dir", "final")):
        private = Path(args.out_dir)
        assert private != run and (private / "ckpt" / "latest.keras").read_bytes() == b"weights"
        assert not (private / "samples").exists(), "outputs that are never read back are not copied"
        (private / "ckpt" / "latest.keras").write_bytes(b"the worker's own")
        Path(args.final).write_bytes(b"x")
    assert args.out_dir == str(run) and args.final == str(final) and args.other == "kept"
    assert not private.exists()
    assert (run / "ckpt" / "latest.keras").read_bytes() == b"weights", "the chief's checkpoint was touched"
    assert not final.exists()


CLIPPED_FIT = """
import argparse, json, sys
import numpy as np
from dsp.distribute import setup_distribution
import dsp.keras_distribute_fixes as fixes
if sys.argv[2] == "unpatched":
    fixes.apply = lambda: None
dist = setup_distribution(argparse.Namespace(distribute=sys.argv[1], logical_cpus=2, mixed_precision=False))
import keras

class Batches(keras.utils.PyDataset):
    def __len__(self):
        return 4
    def __getitem__(self, i):
        x = np.random.default_rng([0, i]).standard_normal((8, 4)).astype("float32")
        return x, 0.5 * x.sum(1, keepdims=True)

keras.utils.set_random_seed(0)
with dist.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="tanh"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(1e-2, clipnorm=0.1), "mse")
    model.fit(Batches(), epochs=2, verbose=0, shuffle=False)
print(json.dumps(np.concatenate([w.ravel() for w in model.get_weights()]).tolist()))
"""


def _clipped_fit(strategy, patched=True):
    out = subprocess.run([sys.executable, "-c", CLIPPED_FIT, strategy, "patched" if patched else "unpatched"],
                         cwd=REPO, env={**DETERMINISTIC, "PATH": "/usr/bin:/bin"}, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    return np.array(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.slow
def test_mirrored_clipped_adam_takes_the_one_device_step():
    """Adam with clipnorm: two replicas must clip the summed gradient, as one device does (Keras alone
    clips each replica's half and lets the sum exceed the clip)."""
    one = _clipped_fit("none")
    two = _clipped_fit("mirrored")
    unpatched = _clipped_fit("mirrored", patched=False)
    assert np.max(np.abs(two - one)) < 1e-6
    assert np.max(np.abs(unpatched - one)) > 1e-3, "the clipping case does not exercise the fix"


LOSS_SCALED_FIT = """
import argparse, json, sys
import numpy as np
from dsp.distribute import setup_distribution
import dsp.keras_distribute_fixes as fixes
if sys.argv[2] == "unpatched":
    fixes.apply = lambda: None
dist = setup_distribution(argparse.Namespace(distribute=sys.argv[1], logical_cpus=2, mixed_precision=False))
import keras

x = np.ones((4, 2), "float32")
y = np.zeros((4, 1), "float32")
y[2:] = 1e37   # only replica 1's half of the batch overflows (its scaled gradient, 2**15 x 5e36, is inf)
with dist.scope():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
    model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1)), "mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
print(json.dumps([float(v) for v in model.get_weights()[0].ravel()]))
"""


@pytest.mark.slow
def test_loss_scaling_skips_a_step_that_overflows_on_any_replica():
    def kernel(strategy, patched=True):
        out = subprocess.run([sys.executable, "-c", LOSS_SCALED_FIT, strategy,
                              "patched" if patched else "unpatched"],
                             cwd=REPO, env={**DETERMINISTIC, "PATH": "/usr/bin:/bin"}, capture_output=True,
                             text=True, timeout=300, check=True).stdout
        return np.array(json.loads(out.strip().splitlines()[-1]))

    assert np.all(kernel("none") == 1.0), "one device skips the overflowing step"
    assert np.all(kernel("mirrored") == 1.0)
    assert not np.all(kernel("mirrored", patched=False) == 1.0), "Keras alone follows replica 0 and applies it"
