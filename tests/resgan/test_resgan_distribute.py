"""``train.py --distribute`` (issue 23): the pulse model and the GAN trained over two replicas
(``mirrored`` over 2 logical CPUs) and the pulse model over two worker processes (``multi_worker``
under ``python -m tools.launch``) compute the update of one device with the same global batch and
seed; ``--mixed_precision`` trains with float32 outputs (bfloat16 on CPUs; the GAN's float16 path
with loss scaling is checked in-process).

Every command runs with deterministic kernels on one thread (`tests.resume_probe.DETERMINISTIC`),
2 epochs (the second shows that `dsp.resume.EpochSync` gives every run the same batches) of a few
steps of batch 8 (4 rows per replica). What "the same" means here: the first steps agree to about
1e-6, but Adam divides each gradient by its own size, so components whose gradient is near zero
(the conv kernels behind the pulse model's zero-initialised last layer, the generator's layers
behind its near-zero residual) move by a different part of the learning rate when the replicas'
partial sums round differently, and a GAN amplifies that. The comparison is therefore
``|w_run - w_one_device| / |w_one_device - w_initial|`` over all weights (L2 norms), with a tolerance
far from what a wrong distributed step gives (measured, see the constants), plus the Adam moments
(which a loss not divided by the replicas doubles; Adam's step itself does not see that factor) and
each epoch's logged losses.
"""
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from resgan import config, models, training
from resgan.gan import ResGAN
from tests.resgan.netcdf_examples import write_bump_files
from tests.resume_probe import DETERMINISTIC, csv_epochs, final_path, read_probe

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 2
# |w_run - w_one_device| / |w_one_device - w_initial| over all weights. Measured (2 logical CPUs, one
# thread each): pulse model, 2 epochs x 2 steps: 1.4e-4, the same with 2 workers (per-replica
# BatchNorm statistics instead: 8e-2); GAN, 2 epochs x 1 step, from each run's own stage 1: 2.4e-4
# (from one shared pulse model: 3.4e-5; each replica drawing its own noise, as keras.random with a
# SeedGenerator does: 1.4e-2; losses not divided by the replicas: 6e-2).
PULSE_STEPS, PULSE_TOLERANCE = 2, 2e-3
GAN_STEPS, GAN_TOLERANCE = 1, 3e-3
# |m_run - m_one_device| / |m_one_device| over the Adam moments; a loss not divided by the replicas
# doubles the first moment (measured for the generator: 1.9). Measured: pulse model 8e-4; the
# generator 4e-2 (its near-zero gradients feel the 1e-4 difference of the two runs' pulse models;
# 3e-4 from one shared pulse model).
MOMENT_TOLERANCE = {"pulse": 1e-2, "gan": 0.2}
# relative, the logged losses of epoch 1 and 2. Measured: pulse model 0 and 5e-6; GAN 6e-5 and 1.7e-2
# (d_fake after D's first SGD step, a large one, from two runs' pulse models 1e-4 apart)
LOSS_TOLERANCE = {"pulse": (1e-4, 1e-4), "gan": (1e-3, 0.1)}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("resgan_distribute_data")
    write_bump_files(root / "traindata", 3, seed=0)
    write_bump_files(root / "testdata", 1, seed=1)
    return root


def _flags(data, model_dir, mode, *extra, epochs=EPOCHS):
    return ["train.py", "--mode", mode, "--data_dir", str(data / "traindata"),
            "--testdata_dir", str(data / "testdata"), "--model_dir", str(model_dir),
            "--figures_dir", str(model_dir / "figures"), "--batch_size", "8",
            "--steps_per_epoch", str(PULSE_STEPS), "--steps_per_epoch_gan", str(GAN_STEPS),
            "--epochs_pulse", str(epochs), "--epochs_gan", str(epochs), "--val_frames", "16",
            "--plot_every", "1000", "--seed", "0", "--verbose", "2", *extra]


def _run(command, timeout=600):
    """Run ``python command...`` in the repository with the deterministic env; its stdout."""
    result = subprocess.run([sys.executable, *command], cwd=REPO, capture_output=True, text=True,
                            env={**DETERMINISTIC, "PATH": "/usr/bin:/bin"}, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def _numpy(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


def _gap(run, reference, initial=None):
    """|run - reference| / |reference - initial| over lists of arrays (L2 norms; initial None: 0)."""
    def norm(a, b):
        return np.sqrt(sum(float(np.sum((np.asarray(x, np.float64) - y) ** 2)) for x, y in zip(a, b)))
    initial = [0 * x for x in reference] if initial is None else initial
    assert len(run) == len(reference) == len(initial)
    return norm(run, reference) / norm(reference, initial)


def _moments(optimizer):
    """The optimizer's per-weight state (Adam's moments): its variables that have a shape."""
    return _numpy(v for v in optimizer.variables if len(v.shape))


def _pulse(folder):
    """(weights, Adam moments) of the pulse model's last backup in ``folder``."""
    model = keras.models.load_model(folder / "pulse_backup.keras")
    return _numpy(model.weights), _moments(model.optimizer)


def _gan(data, folder):
    """(weights, generator Adam moments) of the GAN's last backup in ``folder``."""
    args = config.parse_args(_flags(data, folder, "train")[1:])
    gan = training.build_gan(args, training.load_pulse_model(folder))
    gan.load_weights(folder / "gan_backup.weights.h5")
    return _numpy(gan.weights), _moments(gan.g_optimizer)


def _check_losses(run_dir, ref_dir, log, keys, tolerance):
    (epochs, rows), (ref_epochs, ref_rows) = csv_epochs(run_dir / log), csv_epochs(ref_dir / log)
    assert epochs == ref_epochs == list(range(EPOCHS))
    for row, ref, tol in zip(rows, ref_rows, tolerance):
        for key in keys:
            a, b = float(row[key]), float(ref[key])
            assert np.isfinite(a) and abs(a - b) <= tol * abs(b), (key, row, ref)


@pytest.fixture(scope="module")
def one_device(data, tmp_path_factory):
    """Both stages trained with ``--distribute none``: ``{"folder", "pulse", "gan"}``, each stage
    ``(initial weights, final weights, final Adam moments)``."""
    folder = tmp_path_factory.mktemp("one_device") / "none"
    probe = folder.parent / "probe.npz"  # tests.resume_probe: the last fit's (stage 2's) weights
    out = _run(["-m", "tests.resume_probe", str(probe), *_flags(data, folder, "train")])
    assert "distribute: none (one device), batch 8" in out
    keras.utils.set_random_seed(0)  # train.py's initialisation of stage 1 (seed, then build)
    args = config.parse_args(_flags(data, folder, "train")[1:])
    pulse_initial = _numpy(training.build_pulse_trainer(args).weights)
    gan = _gan(data, folder)
    assert _gap(read_probe(final_path(probe))[0], gan[0]) == 0  # the probe and the backup agree
    return {"folder": folder, "pulse": (pulse_initial, *_pulse(folder)),
            "gan": (read_probe(probe)[0], *gan)}


def _compare(stage, run, one_device, tolerance):
    initial, weights, moments = one_device[stage]
    gap, moment_gap = _gap(run[0], weights, initial), _gap(run[1], moments)
    print(f"{stage}: weight gap {gap:.2g} (tolerance {tolerance}), Adam moments {moment_gap:.2g}")
    assert gap <= tolerance and moment_gap <= MOMENT_TOLERANCE[stage], (stage, gap, moment_gap)


@pytest.mark.slow
def test_both_stages_on_two_mirrored_replicas_equal_one_device(data, one_device, tmp_path):
    """``--mode train``: one strategy for both stages. Stage 2 starts from each run's own stage 1."""
    folder = tmp_path / "mirrored"
    out = _run(_flags(data, folder, "train", "--distribute", "mirrored", "--logical_cpus", "2"))
    assert out.count("2 replica(s) in sync, global batch 8 (4 per replica)") == 1
    reference = one_device["folder"]
    _compare("pulse", _pulse(folder), one_device, PULSE_TOLERANCE)
    _check_losses(folder, reference, "pulse_log.csv", ("wave_loss", "val_wave_loss"),
                  LOSS_TOLERANCE["pulse"])
    _compare("gan", _gan(data, folder), one_device, GAN_TOLERANCE)
    _check_losses(folder, reference, "gan_log.csv", ("g_adv", "g_peek", "d_real", "d_fake"),
                  LOSS_TOLERANCE["gan"])


@pytest.mark.slow
def test_pulse_model_on_two_workers_equals_one_device_and_only_the_chief_writes(data, one_device, tmp_path):
    folder = tmp_path / "workers"
    out = _run(["-m", "tools.launch", "--workers", "2", "--",
                sys.executable, *_flags(data, folder, "train_pulse_model", "--distribute", "multi_worker")])
    assert "[worker 0] distribute: multi_worker, 2 worker(s), 2 replica(s) in sync" in out
    assert "[worker 1] distribute: multi_worker" in out
    # worker 1 wrote into a private copy of the model folder, removed at its exit
    private = [line.split("checkpoints in ")[1].strip() for line in out.splitlines()
               if line.startswith("[worker 1] stage 1:")]
    assert private and "audiosynth_worker1_" in private[0] and not Path(private[0]).exists()
    assert "[worker 0] stage 1: pulse model" in out and f"checkpoints in {folder}\n" in out
    _compare("pulse", _pulse(folder), one_device, PULSE_TOLERANCE)
    _check_losses(folder, one_device["folder"], "pulse_log.csv", ("wave_loss", "val_wave_loss"),
                  LOSS_TOLERANCE["pulse"])  # one log of 2 epochs


@pytest.mark.slow
def test_mixed_precision_trains_both_stages_with_float32_outputs(data, tmp_path):
    folder = tmp_path / "mixed"
    _run(_flags(data, folder, "train", "--mixed_precision", epochs=1))
    for log, key in (("pulse_log.csv", "wave_loss"), ("gan_log.csv", "g_loss"), ("gan_log.csv", "d_loss")):
        values = [float(row[key]) for row in csv_epochs(folder / log)[1]]
        assert len(values) == 1 and np.all(np.isfinite(values)), (log, key, values)
    pulse = keras.models.load_model(folder / "pulse_model.keras")
    generator = keras.models.load_model(folder / "generator.keras")
    discriminator = keras.models.load_model(folder / "discriminator.keras")
    for model, hidden, outputs in ((pulse, "block0_conv", ("out_conv", "wave", "spec")),
                                   (generator, "g0_conv", ("residual_conv", "residual", "wave", "spec")),
                                   (discriminator, "d0_conv", ("d2_lrelu", "score_conv", "score"))):
        assert model.get_layer(hidden).compute_dtype == "bfloat16"  # CPU: bfloat16 (float16 on GPUs)
        for name in outputs:
            assert model.get_layer(name).compute_dtype == "float32", (model.name, name)
        assert all(keras.backend.standardize_dtype(t.dtype) == "float32" for t in model.outputs)


def test_gan_step_under_float16_scales_its_losses():
    """``mixed_float16`` (the GPU policy of --mixed_precision, forced here on the CPU): the GAN's
    optimizers become LossScaleOptimizers, steps with overflowing gradients are skipped (the
    scale halves) and the others train, with float32 outputs. Small networks, one device."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        gan = ResGAN(models.build_pulse_model(gru_units=8, filters=8, n_conv=1),
                     models.build_generator(filters=8), models.build_discriminator())
        gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.SGD(1e-3))
        gan.build()
        before = [keras.ops.convert_to_numpy(w) for w in gan.generator.trainable_weights]
        rng = np.random.default_rng(0)
        x = rng.standard_normal((48, 1, 22)).astype(np.float32)
        y = 0.05 * rng.standard_normal((48, 400)).astype(np.float32)
        history = gan.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False).history
        assert gan.generator.get_layer("g0_conv").compute_dtype == "float16"
        assert gan.generator.get_layer("residual_conv").compute_dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(v[-1]) for v in history.values()), history
    for optimizer in (gan.g_optimizer, gan.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        applied = int(optimizer.inner_optimizer.iterations.numpy())
        assert 0 < applied <= 12 and float(optimizer.dynamic_scale.numpy()) < 2.0 ** 15
    after = [keras.ops.convert_to_numpy(w) for w in gan.generator.trainable_weights]
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(after, before)) > 0
