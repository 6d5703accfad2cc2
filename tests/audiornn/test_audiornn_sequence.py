"""AudioRNN's speech recipe: a target after every step, a held-out folder, priming, audio measures."""
import json

import keras
import numpy as np
import pytest
import soundfile as sf

from audiornn import AudioRNN, AudioRNNEval, export, training
from audiornn.AudioRNNData import audio_to_codes, codes_to_audio, encode_codes
from audiornn.generation import StatefulGenerator
from audiornn.model import build_model, last_step, model_targets, recalibrate_batch_norm
from audiornn.windows import WindowIndex, gather_windows
from corpus import split
from dsp.audio import InputError
from dsp.metrics import full_scale_fraction, level_db, long_term_spectrum_distance
from tests.audiornn.tones import CODE_CYCLE, write_code_cycle

T, NEURONS, WARMUP = 16, 16, 4


def test_sequence_windows_target_every_step_after_the_warmup():
    codes = np.arange(100, dtype=np.uint8)
    index = WindowIndex([0], [100], T)
    X, y = gather_windows(codes, index.starts([0, 10]), T, warmup=WARMUP)
    assert X.shape == (2, T, 1) and y.shape == (2, T - WARMUP)
    np.testing.assert_array_equal(y[0], np.arange(WARMUP + 1, T + 1))   # the code after each step
    np.testing.assert_array_equal(y[1], np.arange(10 + WARMUP + 1, 10 + T + 1))
    _, y_last = gather_windows(codes, index.starts([0, 10]), T)
    np.testing.assert_array_equal(y_last, y[:, -1])    # the last target is the original's


def test_sequence_model_shares_the_original_layers():
    last, every = build_model(T, NEURONS), build_model(T, NEURONS, "all", WARMUP)
    assert model_targets(last) == ("last", 0) and model_targets(every) == ("all", WARMUP)
    assert every.output_shape == (None, T - WARMUP, 256)
    assert [w.shape for w in last.weights] == [w.shape for w in every.weights]
    every.set_weights(last.get_weights())
    x = np.random.default_rng(0).random((3, T, 1)).astype(np.float32)
    probs = np.asarray(every.predict_on_batch(x))
    np.testing.assert_allclose(last_step(probs), last.predict_on_batch(x), atol=1e-5)


def test_batch_norm_recalibration_gives_the_mean_of_the_batch_statistics():
    model = build_model(T, NEURONS, "all", WARMUP)
    rng = np.random.default_rng(0)
    batches = [rng.random((4, T, 1)).astype(np.float32) * (1 + k) for k in range(3)]
    assert recalibrate_batch_norm(model, batches) == 3
    dense_in, bn_in = model.get_layer("dense_in"), model.get_layer("bn_in")
    features = [np.asarray(dense_in(x)).reshape(-1, NEURONS) for x in batches]
    np.testing.assert_allclose(np.asarray(bn_in.moving_mean),
                               np.mean([f.mean(0) for f in features], 0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(bn_in.moving_variance),
                               np.mean([f.var(0) for f in features], 0), rtol=1e-3, atol=1e-6)
    assert bn_in.momentum == 0.99                      # restored


@pytest.fixture(scope="module")
def cycle_model(tmp_path_factory):
    """A tiny sequence model trained 120 steps on the code cycle, validated on a held-out folder.

    BatchNorm's moving statistics, used for validation and generation, are recomputed after
    each epoch (--bn_recalibration): without that, 400 steps gave only 0.84 validation accuracy."""
    root = tmp_path_factory.mktemp("audiornn_seq")
    train_dir = write_code_cycle(root / "train", n_files=2, seconds=0.5)
    val_dir = write_code_cycle(root / "val", n_files=1, seconds=0.25)
    argv = ["-t", "-d", str(train_dir), "--val_dir", str(val_dir), "-ts", str(T), "-n", str(NEURONS),
            "-b", "16", "--targets", "all", "--warmup", str(WARMUP), "--steps_per_epoch", "60",
            "-e", "2", "--val_windows", "64", "--learning_rate", "0.01", "--lr_halve_every", "50",
            "--bn_recalibration", "8",
            "-m", str(root / "m" / "a.keras"), "--seed", "0"]
    model = training.train(AudioRNN.parse_arguments(argv))
    return root, argv, model


@pytest.mark.slow
def test_a_short_training_predicts_the_cycle_far_above_chance(cycle_model):
    root, _, model = cycle_model
    rows = (root / "m" / "a.log.csv").read_text().splitlines()
    header, last = rows[0].split(","), rows[-1].split(",")
    val_accuracy = float(last[header.index("val_accuracy")])
    val_bits = float(last[header.index("val_loss")]) / np.log(2)
    # Chance over the cycle's 12 codes: accuracy 1/12, log2(12) = 3.58 bits.
    assert val_accuracy > 0.95 and val_bits < 0.5, (val_accuracy, val_bits)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01 * 0.5 ** 2)  # 120 updates: halved every 50
    config = json.loads((root / "m" / "a.json").read_text())
    assert config["val_dir"].endswith("val") and (root / "m" / "a.val_codes.npz").exists()


@pytest.mark.slow
def test_generation_continues_the_prime_from_its_state(cycle_model, tmp_path):
    """Greedy codes after two different primes: each the cycle's successor of its prime's last code."""
    _, _, model = cycle_model
    gen = StatefulGenerator(model, chunk=8)
    primes = np.stack([np.tile(np.roll(CODE_CYCLE, -k), 3)[:30] for k in (0, 5)])
    out = gen(primes, 8)
    successor = {int(a): int(b) for a, b in zip(CODE_CYCLE, np.roll(CODE_CYCLE, -1))}
    for row, prime in zip(out, primes):
        assert row[0] == successor[int(prime[-1])]
    assert out[0, 0] != out[1, 0]


@pytest.mark.slow
def test_primed_and_silent_generation_through_the_cli(cycle_model, tmp_path, capsys):
    root, _, _ = cycle_model
    model = str(root / "m" / "a.keras")
    prime = tmp_path / "prime.wav"
    cycle = np.tile(CODE_CYCLE, 40)
    sf.write(prime, np.repeat(codes_to_audio(cycle), 2), 16000)   # another rate: resampled
    AudioRNN.main(["-g", "-m", model, "--prime", str(prime), "-gl", "0.05", "--num_streams", "1",
                   "--temperature", "0", "-a", str(tmp_path / "p.wav")])
    x, sr = sf.read(tmp_path / "p.wav")
    assert sr == 8000 and len(x) == len(cycle) + 400      # the prime, then 0.05 s
    AudioRNN.main(["-g", "-m", model, "--start", "silence", "-gl", "0.01", "--num_streams", "1",
                   "-a", str(tmp_path / "s.wav")])
    assert len(sf.read(tmp_path / "s.wav")[0]) == 80
    capsys.readouterr()
    AudioRNNEval.main(["-m", model, "-a", str(tmp_path / "p.wav"), "--prime", str(prime),
                       "--figures_dir", str(tmp_path / "fig")])
    out = capsys.readouterr().out
    assert "primed_first_second" in out and (tmp_path / "fig" / "audiornn_generated.png").exists()
    results = json.loads((root / "m" / "a.eval.json").read_text())
    assert results["model"]["accuracy"] > results["unigram"]["accuracy"]
    assert results["primed_first_second"]["seconds"] == pytest.approx(0.05)


@pytest.mark.slow
def test_bad_prime_and_mismatched_resume_one_line(cycle_model, tmp_path, capsys):
    root, argv, _ = cycle_model
    model = str(root / "m" / "a.keras")
    sf.write(tmp_path / "silent.wav", np.zeros(800, np.float32), 8000)
    sf.write(tmp_path / "short.wav", 0.1 * np.ones(T - 1, np.float32), 8000)
    for name in ("silent.wav", "short.wav", "missing.wav"):
        with pytest.raises(SystemExit) as exit_info:
            AudioRNN.main(["-g", "-m", model, "--prime", str(tmp_path / name)])
        assert exit_info.value.code == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and name in err[0], err
    with pytest.raises(InputError, match="--mu 255, not 256"):
        training.train(AudioRNN.parse_arguments(argv + ["--mu", "256", "-e", "3"]))


def test_audio_measures_known_answers():
    sr = 8000
    t = np.arange(sr) / sr
    tone = 0.1 * np.sin(2 * np.pi * 440 * t)
    assert level_db(tone) == pytest.approx(20 * np.log10(0.1 / np.sqrt(2)), abs=0.01)
    assert level_db(2 * tone) - level_db(tone) == pytest.approx(6.02, abs=0.01)
    assert full_scale_fraction(np.clip(20 * tone, -1, 1)) > 0.5 and full_scale_fraction(tone) == 0
    noise = np.random.default_rng(0).standard_normal(sr) * 0.01
    assert long_term_spectrum_distance(noise, 2 * noise, sr) == pytest.approx(6.02, abs=0.01)
    assert long_term_spectrum_distance(noise, noise, sr) == 0.0


def test_split_by_speaker_and_by_file(tmp_path):
    files = [f"{d}_{s}_{i}.wav" for d in range(3) for s in ("ann", "bob", "cy") for i in range(2)]
    files += [f"other{i}.wav" for i in range(20)]
    parts = split.assign_parts(files, val=0.1, test=0.2, seed=1, speaker_regex=r"^\d+_([a-z]+)_",
                               val_speakers=["bob"], test_speakers=["cy"])
    assert all(parts[f] == "val" for f in files if "_bob_" in f)
    assert all(parts[f] == "test" for f in files if "_cy_" in f)
    assert all(parts[f] == "train" for f in files if "_ann_" in f)
    others = [parts[f"other{i}.wav"] for i in range(20)]
    assert (others.count("val"), others.count("test"), others.count("train")) == (2, 4, 14)
    src = tmp_path / "src"
    src.mkdir()
    for f in files[:6]:
        sf.write(src / f, 0.1 * np.ones(100, np.float32), 8000)
    split.main([str(src), "--out_dir", str(tmp_path / "out"), "--speaker_regex", r"^\d+_([a-z]+)_",
                "--val_speakers", "bob", "--test_speakers", "cy"])
    assert sorted(p.name for p in (tmp_path / "out" / "val" / "src").iterdir()) == \
        ["0_bob_0.wav", "0_bob_1.wav"]
    assert (tmp_path / "out" / "train" / "src" / "0_ann_0.wav").is_symlink()
    with pytest.raises(SystemExit):
        split.main([str(src), "--out_dir", str(tmp_path / "out")])   # exists: refused


def test_silence_codes_decode_to_silence():
    silence = encode_codes(np.zeros(8, np.float32))
    assert np.all(np.abs(codes_to_audio(silence)) < 1e-3)
    assert np.array_equal(audio_to_codes(np.zeros(8, np.float32)), silence)


@pytest.mark.slow
def test_export_ships_weights_without_optimizer_and_generates_without_data(cycle_model, tmp_path):
    root, _, model = cycle_model
    (tmp_path / "command.sh").write_text("python -m audiornn.AudioRNN -t ...\n")
    export.main(["-m", str(root / "m" / "a.keras"), "--out_dir", str(tmp_path / "ship"),
                 "--command", str(tmp_path / "command.sh")])
    ship = tmp_path / "ship"
    names = {p.name for p in ship.iterdir()}
    assert {"a.json", "a.keras", "a.log.csv", "command.sh"} <= names   # and a.eval.json if evaluated
    assert not any(n.endswith((".latest.keras", ".state.json", ".npz")) for n in names)
    assert (ship / "a.keras").stat().st_size < 0.7 * (root / "m" / "a.latest.keras").stat().st_size
    config = json.loads((ship / "a.json").read_text())
    assert config["start"] == "silence" and config["cache"] is None   # same behaviour on any machine
    config["data_dir"] = config["val_dir"] = str(tmp_path / "gone")   # as on a user's machine
    (ship / "a.json").write_text(json.dumps(config))
    AudioRNN.main(["-g", "-m", str(ship / "a.keras"), "-gl", "0.01", "--num_streams", "1",
                   "-a", str(tmp_path / "g.wav")])
    assert len(sf.read(tmp_path / "g.wav")[0]) == 80
    shipped = keras.models.load_model(ship / "a.keras")
    for a, b in zip(shipped.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
