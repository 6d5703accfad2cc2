"""ResGAN training: GAN step semantics, learning, resume, generate, evaluate, presets and
the configuration saved beside the checkpoints (resgan.training, resgan.gan,
resgan.evaluation, resgan.config, train.py)."""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import train
from dsp.presets import load_config
from resgan import config, evaluation, models, training
from resgan.gan import ResGAN
from resgan.netcdf import read_netcdf, write_netcdf
from resgan.synthesis import read_pls

REPO = Path(__file__).resolve().parents[2]


def _write_files(folder, n_files, seed, n_utts=2, n_frames=24):
    """Tiny CURRENNT files: pulses are Gaussian bumps whose width follows
    input column 1, plus windowed noise (so there is something to learn)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(400) - 200
    means = np.zeros(22, np.float32)
    stds = np.ones(22, np.float32)
    means[0], stds[0] = 40.0, 10.0
    means[20], stds[20] = np.log(120.0), 0.2
    means[21], stds[21] = 0.5, 0.5
    for f in range(n_files):
        n = n_utts * n_frames
        x = rng.standard_normal((n, 22)).astype(np.float32)
        x[:, 21] = np.sign(x[:, 21])
        width = 10.0 * np.exp(0.3 * x[:, 1:2])
        y = np.exp(-(t / width) ** 2) + 0.05 * rng.standard_normal((n, 400)) * np.hanning(400)
        write_netcdf(folder / f"data.nc{f + 1}", x, y.astype(np.float32),
                                [n_frames] * n_utts, [f"f{seed}u{f}_{i}" for i in range(n_utts)],
                                means, stds, np.zeros(400, np.float32), np.ones(400, np.float32))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("resgan")
    _write_files(root / "traindata", 2, seed=0)
    _write_files(root / "testdata", 1, seed=1)
    return root


def _args(root, **overrides):
    """The flags' own defaults (the paper's settings, no preset), tiny sizes, ``overrides``."""
    args = config.build_parser().parse_args([])
    args.data_dir = str(root / "traindata")
    args.testdata_dir = str(root / "testdata")
    args.model_dir = str(root / "models")
    args.figures_dir = str(root / "figures")
    args.out_dir = str(root / "output")
    args.wav_dir = str(root / "nowav")
    args.batch_size, args.steps_per_epoch, args.val_frames = 8, 1, 16
    args.plot_every, args.verbose, args.eval_utts = 1, 0, 1
    for k, v in overrides.items():
        setattr(args, k, v)
    return argparse.Namespace(**vars(args))


@pytest.mark.slow
def test_pulse_model_loss_decreases_on_fixed_batch():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 22)).astype(np.float32)
    t = np.arange(400) - 200
    y = np.exp(-(t / (10 * np.exp(0.3 * x[:, 0, 1:2]))) ** 2).astype(np.float32)
    model = training.build_pulse_trainer(_args(Path("."), lr_pulse=1e-3))
    targets = {"wave": y, "spec": y}
    first = model.train_on_batch(x, targets, return_dict=True)["wave_loss"]
    for _ in range(6):
        last = model.train_on_batch(x, targets, return_dict=True)["wave_loss"]
    assert last < 0.7 * first


class _Interrupt(Exception):
    pass


@pytest.mark.slow
def test_two_stages_resume_generate_evaluate(workdir, monkeypatch, capsys):
    root = workdir
    # stage 1: one epoch, then re-run asking for two: resumes after epoch 1
    training.train_pulse_model(_args(root, epochs_pulse=1))
    state = json.loads((root / "models" / "pulse_state.json").read_text())
    assert state["epoch"] == 1 and (root / "models" / "pulse_model.keras").is_file()
    training.train_pulse_model(_args(root, epochs_pulse=2))
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert json.loads((root / "models" / "pulse_state.json").read_text())["epoch"] == 2
    assert len((root / "models" / "pulse_log.csv").read_text().strip().splitlines()) == 3

    # stage 2: interrupted during epoch 2, then re-run: continues from epoch 1
    original = training.PulseFigures.on_train_batch_end

    def interrupting(self, batch, logs=None):
        if self._epoch == 1:
            raise _Interrupt()
        return original(self, batch, logs)

    monkeypatch.setattr(training.PulseFigures, "on_train_batch_end", interrupting)
    with pytest.raises(_Interrupt):
        training.train_noise_model(_args(root, epochs_gan=2))
    assert json.loads((root / "models" / "gan_state.json").read_text())["epoch"] == 1
    monkeypatch.setattr(training.PulseFigures, "on_train_batch_end", original)
    g1 = keras.models.load_model(root / "models" / "generator_e01.keras")

    resumed = {}
    real_fit = ResGAN.fit
    snap = lambda m: [np.array(v) for v in m.weights]  # noqa: E731

    def spy_fit(self, *a, **k):
        resumed["iterations"] = int(self.g_optimizer.iterations)
        resumed["same"] = all(np.array_equal(np.array(u), np.array(v)) for u, v in
                              zip(self.generator.weights, g1.weights))
        before = {"pulse": snap(self.pulse_model), "g": snap(self.generator),
                  "d": snap(self.discriminator)}
        history = real_fit(self, *a, **k)
        after = {"pulse": snap(self.pulse_model), "g": snap(self.generator),
                 "d": snap(self.discriminator)}
        resumed["changed"] = {name: any(not np.array_equal(u, v) for u, v in
                                        zip(before[name], after[name])) for name in before}
        resumed["logs"] = history.history
        return history

    monkeypatch.setattr(ResGAN, "fit", spy_fit)
    training.train_noise_model(_args(root, epochs_gan=2))
    # weights and optimizer state restored after the interruption
    assert resumed["iterations"] == 1 and resumed["same"]
    # one GAN step changed G and D and left the pulse model (incl. BN statistics) alone
    assert resumed["changed"] == {"pulse": False, "g": True, "d": True}
    assert {"g_adv", "g_peek", "d_real", "d_fake"} <= set(resumed["logs"])
    assert all(np.isfinite(v[-1]) for v in resumed["logs"].values())
    assert json.loads((root / "models" / "gan_state.json").read_text())["epoch"] == 2
    assert (root / "models" / "generator_e02.keras").is_file()
    # the resolved configuration beside each model, and no temporary file left behind
    pulse_config = load_config(root / "models" / "pulse_model.json")
    gen_config = load_config(root / "models" / "generator.json")
    assert pulse_config["best_epoch"] in (1, 2) and gen_config["epoch"] == 2
    for saved in (pulse_config, gen_config):
        assert saved["batch_size"] == 8 and saved["resume"] is True and saved["lr_d"] == 1e-5
    assert not [f.name for f in (root / "models").iterdir() if ".tmp" in f.name]
    for name in ("resgan_pulse_progress", "resgan_pulse_loss", "resgan_gan_progress"):
        assert (root / "figures" / f"{name}.png").stat().st_size > 1000

    # generation: <tag>.pls and .pls_nonoise, float32 [n_frames, 400]
    n, frames, _ = evaluation.generate(root / "testdata", root / "output", root / "models")
    assert (n, frames) == (2, 48)
    pls = read_pls(root / "output" / "f1u0_0.pls")
    nonoise = read_pls(root / "output" / "f1u0_0.pls_nonoise")
    assert pls.shape == nonoise.shape == (24, 400)
    assert not np.allclose(pls, nonoise)
    assert np.all(np.abs(pls - nonoise) < 1.0)  # additive tanh residual

    result = evaluation.evaluate(_args(root))
    # every metric is reported (two training steps prove nothing about their values: the
    # pulse model against the baselines and the GAN against the pulse model are in
    # test_resgan_quality.py, on a set with a known answer)
    for key in ("mse_pulse", "lsd_lf_pulse", "lsd_hf_pulse", "lsd_lf_gan", "lsd_hf_gan", "lsd_hf_gan_init"):
        assert np.isfinite(result[key]), key
    assert result["frames"] == 48 and result["mcd_gan"] is None  # no recordings given
    # input-independent baselines: silence and the training set's mean pulse
    test_y = read_netcdf(root / "testdata" / "data.nc1").targets
    assert result["mse_zero"] == pytest.approx(float(np.mean(test_y ** 2)), rel=1e-3)
    assert result["mse_mean_pulse"] < 0.5 * result["mse_zero"]  # same bumps in train and test


@pytest.mark.slow
def test_discriminator_batchnorm_uses_the_real_batch_as_reference():
    """After one GAN step D's first BatchNorm holds exactly the statistics of
    the real (edge-windowed) batch's first convolution (momentum 0), and a
    constant offset of the fakes moves D's normalised features linearly
    instead of being normalised away."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 22)).astype(np.float32)
    y = (0.05 * rng.standard_normal((8, 400)) * np.hanning(400)).astype(np.float32)
    gan = ResGAN(models.build_pulse_model(), models.build_generator(), models.build_discriminator())
    # D's learning rate 0: its convolutions stay as they were when the statistics were taken
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.SGD(0.0))
    gan.train_on_batch(x, y)
    d = gan.discriminator
    real = keras.ops.convert_to_tensor(y * models.edge_window())
    first = keras.Model(d.inputs, d.get_layer("d0_conv").output)
    h = keras.ops.convert_to_numpy(first([real, models.SpectralView()(real)]))
    bn = d.get_layer("d0_bn")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), h.mean(axis=(0, 1)),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance), h.var(axis=(0, 1)),
                               rtol=1e-3, atol=1e-6)
    # fakes = real + offset, through the step's own D pair: with the real batch as the
    # reference, D's peek features move further as the offset grows (joint
    # normalisation of [real; fake] would absorb a common offset into the statistics)
    shift = []
    for c in (0.1, 1.0):
        d_real, d_fake = gan._discriminate_pair(real, real + c)
        shift.append(float(keras.ops.mean(keras.ops.abs(d_fake["peek"] - d_real["peek"]))))
    assert shift[1] > 5 * shift[0]


# old 01_run_train.sh shell arrays (before the presets were files), context 1
OLD_QUICK = ["--epochs_pulse", "8", "--epochs_gan", "5", "--batch_size", "32", "--steps_per_epoch", "36",
             "--steps_per_epoch_gan", "32", "--lr_pulse", "1e-3", "--lr_d", "1e-3", "--bn_momentum", "0.9",
             "--val_frames", "512", "--plot_every", "36", "--rnn_context_len", "1"]
OLD_PAPER = ["--epochs_pulse", "20", "--epochs_gan", "15", "--batch_size", "128", "--rnn_context_len", "1",
             "--plot_every", "500"]


@pytest.mark.parametrize("preset,old", [("quick", OLD_QUICK), ("paper", OLD_PAPER)])
def test_presets_resolve_to_the_old_shell_arrays(preset, old):
    new = vars(config.parse_args(["--preset", preset]))
    assert new.pop("preset") == preset
    assert new == vars(config.build_parser().parse_args(old))
    # quick is the default; a flag given on the command line wins over the preset
    assert config.parse_args([]).preset == "quick"
    assert config.parse_args(["--preset", preset, "--batch_size", "7"]).batch_size == 7


def test_bad_preset_and_flags_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"epochs_pulse": 1, "no_such_flag": 2}')
    for args in (["--preset", "nope"], ["--preset", str(bad)], ["--batch_size", "0"]):
        proc = subprocess.run([sys.executable, "train.py", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "no_such_flag" in subprocess.run([sys.executable, "train.py", "--preset", str(bad)], cwd=REPO,
                                            capture_output=True, text=True, timeout=120).stderr


@pytest.mark.slow
def test_train_cli_saves_the_resolved_preset_beside_the_checkpoint_and_restarts(tmp_path, capsys):
    _write_files(tmp_path / "traindata", 2, seed=0)
    _write_files(tmp_path / "testdata", 1, seed=1)
    flags = ["--mode", "train_pulse_model", "--data_dir", str(tmp_path / "traindata"),
             "--testdata_dir", str(tmp_path / "testdata"), "--model_dir", str(tmp_path / "models"),
             "--figures_dir", str(tmp_path / "figures"), "--epochs_pulse", "1", "--steps_per_epoch", "1",
             "--batch_size", "8", "--val_frames", "16", "--verbose", "0"]
    assert train.main(flags) == 0
    saved = load_config(tmp_path / "models" / "pulse_model.json")
    assert saved["preset"] == "quick" and saved["lr_pulse"] == 1e-3  # from resgan/presets/quick.json
    assert saved["epochs_pulse"] == 1 and saved["batch_size"] == 8    # the command line won
    assert train.main(flags) == 0
    assert "stage 1 already finished" in capsys.readouterr().out
    assert train.main(flags + ["--no-resume"]) == 0  # starts over: trains epoch 1 again
    out = capsys.readouterr().out
    assert "already finished" not in out and "resuming" not in out
    assert json.loads((tmp_path / "models" / "pulse_state.json").read_text())["epoch"] == 1
