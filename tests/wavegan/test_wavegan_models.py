"""WaveGAN / SpecGAN / TiFGAN models, phase shuffle, gradient penalty, training and resume (issue 24)."""
import csv
import json

import keras
import numpy as np
import pytest

from dsp.audio import InputError
from dsp.presets import save_config
from dsp.resume import save_checkpoint
from wavegan import models, spectrograms
from wavegan.generate import load_generator, sample
from wavegan.phase_shuffle import PhaseShuffle, batch_phase_shift, phase_shift
from wavegan.train import build_gan, parse_args, train
from wavegan.wgan import gradient_penalty


def test_phase_shift_is_a_reflection_padded_shift_known_answer_on_a_ramp():
    ramp = np.arange(8, dtype=np.float32)
    x = np.stack([ramp, ramp, ramp])[..., None]  # [3, 8, 1]
    y = np.asarray(phase_shift(x, np.array([2, -2, 0])))[..., 0]
    np.testing.assert_array_equal(y[0], [2, 1, 0, 1, 2, 3, 4, 5])   # delayed, start reflected
    np.testing.assert_array_equal(y[1], [2, 3, 4, 5, 6, 7, 6, 5])   # advanced, end reflected
    np.testing.assert_array_equal(y[2], ramp)
    for k in range(-3, 4):  # the same as numpy's reflect padding, then a window
        padded = np.pad(ramp, 3, mode="reflect")
        expected = padded[3 - k:3 - k + 8]
        np.testing.assert_array_equal(np.asarray(phase_shift(x[:1], np.array([k])))[0, :, 0],
                                      expected)


def test_batch_phase_shift_equals_the_per_example_shift():
    x = np.random.default_rng(0).normal(size=(3, 16, 2)).astype(np.float32)
    for k in range(-2, 3):
        np.testing.assert_array_equal(np.asarray(batch_phase_shift(x, k, 2)),
                                      np.asarray(phase_shift(x, np.full(3, k))))


@pytest.mark.parametrize("per_example", [False, True])
def test_phase_shuffle_layer_draws_every_shift_in_range_and_only_in_training(per_example):
    layer = PhaseShuffle(2, per_example=per_example, seed=1)
    ramp = np.tile(np.arange(32, dtype=np.float32), (64, 1))[..., None]
    shifts = set()
    for _ in range(1 if per_example else 40):
        y = np.asarray(layer(ramp, training=True))[..., 0]
        k = ramp[:, 10, 0] - y[:, 10]   # y[t] = x[t - k] away from the edges
        np.testing.assert_array_equal(y, np.asarray(phase_shift(ramp, k))[..., 0])
        assert per_example or len(set(k)) == 1   # the paper's: one shift for the batch
        shifts |= set(k.astype(int))
    assert shifts == {-2, -1, 0, 1, 2}
    np.testing.assert_array_equal(np.asarray(layer(ramp, training=False)), ramp)
    np.testing.assert_array_equal(np.asarray(PhaseShuffle(0)(ramp, training=True)), ramp)
    clone = PhaseShuffle.from_config(layer.get_config())
    assert (clone.n, clone.per_example, clone.seed, clone.name) == (2, per_example, 1, layer.name)


def test_gradient_penalty_matches_finite_differences_on_a_tiny_critic():
    keras.utils.set_random_seed(3)
    critic = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                               keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(2, 2, 4)).astype(np.float32)
    alpha = np.array([0.3, 0.8], np.float32)
    gp, norms = gradient_penalty(critic, real, fake, alpha)
    (w1, b1), (w2, b2) = [[v.astype(np.float64) for v in layer.get_weights()]
                          for layer in critic.layers]

    def score(x):  # the critic in float64
        return (np.tanh(x @ w1 + b1) @ w2 + b2)[..., 0]

    x_hat = real + alpha[:, None] * (fake - real)
    eps = 1e-5
    grads = np.stack([(score(x_hat + eps * e) - score(x_hat - eps * e)) / (2 * eps)
                      for e in np.eye(4)], axis=-1)
    fd_norms = np.linalg.norm(grads, axis=-1)
    np.testing.assert_allclose(np.asarray(norms), fd_norms, rtol=1e-4)
    np.testing.assert_allclose(float(gp), np.mean((fd_norms - 1) ** 2), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("length", [16384, 8192])
def test_wavegan_shapes_at_both_rates(length):
    g = models.wavegan_generator(d=2, length=length)
    d = models.wavegan_discriminator(d=2, length=length, phase_shuffle=2, seed=0)
    z = np.random.default_rng(0).uniform(-1, 1, (2, 100)).astype(np.float32)
    audio = np.asarray(g(z))
    assert audio.shape == (2, length, 1) and np.abs(audio).max() <= 1
    assert tuple(d(audio, training=True).shape) == (2, 1)
    assert sum(isinstance(layer, PhaseShuffle) for layer in d.layers) == 4


def test_specgan_shapes_and_features():
    g, d = models.build_pair({"model": "specgan", "d": 2})
    image = np.asarray(g(np.zeros((2, 100), np.float32)))
    assert image.shape == (2, 128, 128, 1)
    assert tuple(d(image).shape) == (2, 1)
    t = np.arange(8192) / 8000
    audio = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1000 * t) * 0.1])
    stats = spectrograms.specgan_stats(audio)
    for kind in ("specgan", "tifgan"):
        f = spectrograms.to_features(audio, kind, stats)
        assert f.shape == (2, 128, 128) and f.min() >= -1 and f.max() <= 1
        y = spectrograms.invert_batch(f, kind, stats if kind == "specgan" else None, "pghi")
        assert y.shape == (2, 8192) and np.all(np.isfinite(y))


def test_tifgan_reference_peak_restores_the_level():
    # TiFGAN's features drop the level; tif_peak (the training clips' median peak
    # magnitude) puts it back: a clip at the reference level comes back at its level.
    t = np.arange(8192) / 8000
    loud, quiet = np.sin(2 * np.pi * 440 * t), 0.01 * np.sin(2 * np.pi * 440 * t)
    peak = spectrograms.tifgan_peak(np.stack([loud, loud, quiet]))
    np.testing.assert_allclose(peak, spectrograms.magnitude(loud, "tifgan").max(), rtol=1e-6)
    f = spectrograms.to_features(np.stack([loud, quiet]), "tifgan")
    np.testing.assert_allclose(f[0], f[1], atol=1e-4)                # level-free features
    y = spectrograms.invert_batch(f, "tifgan", peak, "pghi")
    rms = np.sqrt(np.mean(y[:, 1024:-1024] ** 2, axis=1))
    np.testing.assert_allclose(rms[1], rms[0], rtol=0.01)            # the quiet one made loud
    np.testing.assert_allclose(rms, np.sqrt(0.5), rtol=0.15)         # at the sine's level (1.2 dB)
    assert spectrograms.config_stats({"model": "tifgan", "tif_peak": peak}) == peak
    assert spectrograms.config_stats({"model": "tifgan"}) is None     # older models: peak 1


def test_generator_keras_round_trip_gives_identical_output(tmp_path):
    g = models.wavegan_generator(d=2, length=8192)
    d = models.wavegan_discriminator(d=2, length=8192, seed=0)
    z = np.random.default_rng(1).uniform(-1, 1, (3, 100)).astype(np.float32)
    for model, x in ((g, z), (d, np.asarray(g(z)))):
        save_checkpoint(model, tmp_path / f"{model.name}.keras")
        loaded = keras.saving.load_model(tmp_path / f"{model.name}.keras")
        np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


def test_sample_inverts_spectrogram_models(tmp_path):
    g, _ = models.build_pair({"model": "specgan", "d": 2})
    save_checkpoint(g, tmp_path / "generator.keras")
    save_config(tmp_path / "config.json",
                {"model": "specgan", "latent_dim": 100, "inversion": "griffinlim",
                 "gl_iters": 4, "spec_mean": [-3.0] * 128, "spec_std": [1.0] * 128})
    model, config = load_generator(tmp_path)
    a = sample(model, config, 2, seed=5)
    assert a.shape == (2, 8192) and a.dtype == np.float32
    np.testing.assert_array_equal(a, sample(model, config, 2, seed=5))
    assert sample(model, config, 1, seed=5, inversion="pghi").shape == (1, 8192)


def _log_steps(path):
    with open(path, newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def _noise_clips(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.savez(data / "train.npz", audio=rng.uniform(-0.5, 0.5, (8, 8192)).astype(np.float32),
             labels=np.arange(8))
    return data


def test_training_runs_and_resumes(tmp_path):
    data = _noise_clips(tmp_path)
    run = tmp_path / "run"
    flags = ["--model", "wavegan", "--data_dir", str(data), "--out_dir", str(run), "--d", "2",
             "--batch_size", "2", "--n_critic", "2", "--save_every", "1", "--sample_every", "2",
             "--n_samples", "1", "--quiet"]
    train(parse_args(flags + ["--steps", "2"]))
    assert _log_steps(run / "log.csv") == [1, 2]
    first = load_generator(run)[0].get_weights()
    with open(run / "log.csv", "a") as f:  # a row a killed run logged after its checkpoint
        f.write("3,0,0,0,0,0\n")
    row = train(parse_args(flags + ["--steps", "3"]))
    assert row["step"] == 3 and np.isfinite(row["d_loss"])
    assert _log_steps(run / "log.csv") == [1, 2, 3]
    assert (run / "samples" / "step_000002_0.wav").is_file()
    resumed = load_generator(run)[0].get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(first, resumed))
    checkpoint = run / "last.weights.h5"
    checkpoint.write_bytes(checkpoint.read_bytes()[:500])  # cut by a full disk
    with pytest.raises(InputError, match="cannot resume"):
        train(parse_args(flags + ["--steps", "4"]))


def test_a_resumed_run_can_lower_its_learning_rate(tmp_path, capsys):
    data, run = _noise_clips(tmp_path), tmp_path / "run"
    flags = ["--model", "wavegan", "--data_dir", str(data), "--out_dir", str(run), "--d", "2",
             "--batch_size", "2", "--n_critic", "1", "--save_every", "1", "--sample_every", "0",
             "--quiet"]
    train(parse_args(flags + ["--steps", "2"]))
    # --learning_rate on resume is ignored (the run keeps its own); --new_learning_rate is not
    train(parse_args(flags + ["--steps", "3", "--learning_rate", "1e-2",
                              "--new_learning_rate", "5e-5"]))
    assert "its own learning_rate" not in capsys.readouterr().err  # replaced, not kept
    config = json.loads((run / "config.json").read_text())
    assert config["learning_rate"] == 5e-5
    assert config["learning_rate_history"] == [[0, 1e-4], [2, 5e-5]]
    gan = build_gan(config)
    gan.load_weights(str(run / "last.weights.h5"))
    for optimizer in (gan.g_optimizer, gan.d_optimizer):  # saved with the checkpoint
        assert float(optimizer.learning_rate) == pytest.approx(5e-5)
    train(parse_args(flags + ["--steps", "4"]))  # a later resume keeps rate and history
    assert "its own learning_rate" in capsys.readouterr().err  # and says so
    config = json.loads((run / "config.json").read_text())
    assert config["learning_rate"] == 5e-5
    assert config["learning_rate_history"] == [[0, 1e-4], [2, 5e-5]]
    for bad in ("0", "-1e-4", "nan"):
        with pytest.raises(InputError, match="positive"):
            parse_args(flags + ["--steps", "5", f"--new_learning_rate={bad}"])
    fresh = tmp_path / "fresh"  # on a fresh run the rate is simply the one from step 0
    train(parse_args([f if f != str(run) else str(fresh) for f in flags]
                     + ["--steps", "1", "--new_learning_rate", "2e-4"]))
    assert json.loads((fresh / "config.json").read_text())["learning_rate_history"] == [[0, 2e-4]]


def test_a_preset_of_another_model_is_refused():
    with pytest.raises(InputError, match="specgan preset"):
        parse_args(["--model", "wavegan", "--preset", "specgan_cpu", "--data_dir", "d",
                    "--out_dir", "o"])


def test_snapshots_follow_keep_every_even_between_checkpoints(tmp_path):
    data, run = _noise_clips(tmp_path), tmp_path / "run"
    train(parse_args(["--model", "wavegan", "--data_dir", str(data), "--out_dir", str(run),
                      "--d", "2", "--batch_size", "2", "--n_critic", "1", "--save_every", "5",
                      "--keep_every", "1", "--sample_every", "0", "--steps", "3", "--quiet"]))
    assert sorted(p.name for p in (run / "snapshots").iterdir()) == [
        "step_000001", "step_000002", "step_000003"]
