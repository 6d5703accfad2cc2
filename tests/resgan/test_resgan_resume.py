"""Interrupted ResGAN training resumes exactly (issue 22).

Stage 1 (pulse model) and stage 2 (GAN) of ``train.py``: each run is killed with SIGKILL
in the middle of an epoch after its first checkpoint, re-run with the same command
(``--resume`` is the default) and compared with an uninterrupted run of the same
command, started alongside (deterministic kernels, one thread, ``--seed 0``;
`tests.resume_probe.check_resume` lists what is checked).
"""
import keras
import pytest

from dsp.resume import checkpoint_state
from resgan import config, models, training
from tests.resgan.netcdf_examples import write_bump_files
from tests.resume_probe import check_resume, max_abs_diff

EPOCHS, STEPS = 3, 4
# One thread, deterministic kernels, the same data order: the runs agree to the last bit.
TOLERANCE = 0.0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("resgan_resume_data")
    write_bump_files(root / "traindata", 3, seed=0)
    write_bump_files(root / "testdata", 1, seed=1)
    return root


def _command(data, model_dir, mode):
    return ["train.py", "--mode", mode, "--data_dir", str(data / "traindata"),
            "--testdata_dir", str(data / "testdata"), "--model_dir", str(model_dir),
            "--figures_dir", str(model_dir / "figures"), "--batch_size", "8",
            "--steps_per_epoch", str(STEPS), "--steps_per_epoch_gan", str(STEPS),
            "--epochs_pulse", str(EPOCHS), "--epochs_gan", str(EPOCHS),
            "--val_frames", "16", "--plot_every", "1000", "--seed", "0", "--verbose", "2"]


def _saved_epoch(name):
    return lambda folder: (checkpoint_state(folder / name) or {}).get("epoch", 0)


def _numpy(weights):
    return [keras.ops.convert_to_numpy(w) for w in weights]


def _pulse(folder):
    model = keras.models.load_model(folder / "pulse_backup.keras")
    return _numpy(model.weights), int(model.optimizer.iterations)


@pytest.mark.slow
def test_pulse_model_resumes_exactly_after_sigkill(data, tmp_path):
    result = check_resume(tmp_path, lambda folder: _command(data, folder, "train_pulse_model"),
                          _saved_epoch("pulse_backup.keras"), _pulse,
                          lambda n: f"stage 1: resuming after epoch {n}", EPOCHS, STEPS,
                          log=lambda folder: folder / "pulse_log.csv",
                          loss_keys=("wave_loss", "val_wave_loss"), tolerance=TOLERANCE,
                          name="ResGAN pulse model")
    assert result["resumed_from"] == result["saved"] >= 1
    # the final backups and the best models (lowest held-out MSE) agree too
    assert max_abs_diff(_pulse(tmp_path / "run")[0], _pulse(tmp_path / "reference")[0]) <= TOLERANCE
    best, ref = (_numpy(keras.models.load_model(tmp_path / d / "pulse_model.keras").weights)
                 for d in ("run", "reference"))
    assert max_abs_diff(best, ref) <= TOLERANCE


def _gan(data, folder):
    """The stage-2 trainer of the test's command with the backup of ``folder`` loaded:
    (weights, generator optimizer steps)."""
    args = config.parse_args(_command(data, folder, "train_noise_model")[1:])
    gan = training.build_gan(args, training.load_pulse_model(folder))
    gan.load_weights(folder / "gan_backup.weights.h5")
    return _numpy(gan.weights), int(gan.g_optimizer.iterations)


@pytest.mark.slow
def test_gan_resumes_exactly_after_sigkill(data, tmp_path):
    # stage 2 needs a pulse model; an untrained one is as good for resuming
    keras.utils.set_random_seed(1)
    pulse = models.build_pulse_model(bn_momentum=0.9)
    for name in ("reference", "run"):
        (tmp_path / name).mkdir()
        pulse.save(tmp_path / name / "pulse_model.keras")
    result = check_resume(tmp_path, lambda folder: _command(data, folder, "train_noise_model"),
                          _saved_epoch("gan_backup.weights.h5"), lambda folder: _gan(data, folder),
                          lambda n: f"stage 2: resuming after epoch {n}", EPOCHS, STEPS,
                          log=lambda folder: folder / "gan_log.csv",
                          loss_keys=("g_adv", "g_peek", "d_real", "d_fake"), optimizer="g_optimizer",
                          tolerance=TOLERANCE, name="ResGAN GAN")
    assert result["resumed_from"] == result["saved"] >= 1
    # the generator's noise stream went on where it stopped (Keras saves no SeedGenerator)
    noise = [checkpoint_state(tmp_path / d / "gan_backup.weights.h5")["seed_states"]
             for d in ("run", "reference")]
    assert noise[0] and noise[0] == noise[1]
    generators = [_numpy(keras.models.load_model(tmp_path / d / "generator.keras").weights)
                  for d in ("run", "reference")]
    assert max_abs_diff(*generators) <= TOLERANCE
