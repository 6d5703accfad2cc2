"""ResGAN end to end on a synthetic set with a known answer: the pulse model beats the
input-independent baselines on held-out data, the GAN adds the high band the pulse model
misses, the MCD path pairs each recording with its utterance, synthesize.py writes what it
says, early stopping stops, and a GRU context longer than one frame trains and generates.

The synthetic set: every frame's target is a unit-energy pulse whose width follows input
column 1 and whose odd (antisymmetric) part follows column 2, plus a little windowed white
noise (the only energy above 4 kHz). The mean pulse cannot follow the inputs; a pulse model
that uses them beats it. The networks are narrowed (24 instead of 100 filters) so that
100 pulse-model steps take seconds; the layers, losses, training loop, checkpoints and
evaluation are the product's.
"""
import contextlib
import csv
import io
import json

import keras
import numpy as np
import pytest
import soundfile as sf

import synthesize
import train
from dsp.audio import write_wav
from dsp.metrics import mel_cepstral_distortion
from dsp.presets import load_config
from resgan import evaluation, export
from resgan import synthesis as rs
from resgan.netcdf import list_data_files, read_netcdf, write_netcdf

T = np.arange(400) - 200
FILTERS = 24
CONTEXT = 2  # GRU context longer than one frame (train.py --rnn_context_len)


def write_set(folder, n_files, seed, n_utts=4, n_frames=128, noise=0.02):
    """``data.nc1..`` of the synthetic set (see the module doc); the normalisation
    statistics make c0 ~ 20 dB (peaks below full scale), cepstra of a few dB, F0 ~ 120 Hz
    and every frame voiced."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    means, stds = np.zeros(22, np.float32), np.ones(22, np.float32)
    means[0], stds[0] = 20.0, 3.0
    stds[1:20] = 5.0  # spectral envelopes that differ from frame to frame (dB-scale cepstra)
    means[20], stds[20] = np.log(120.0), 0.2
    means[21], stds[21] = 0.5, 0.5
    for f in range(n_files):
        n = n_utts * n_frames
        x = rng.standard_normal((n, 22)).astype(np.float32)
        x[:, 21] = 1.0  # normalised voicing flag 1 = raw 1.0: voiced
        width = 10.0 * np.exp(0.4 * x[:, 1:2])
        bump = np.exp(-(T / width) ** 2)
        y = bump + np.tanh(x[:, 2:3]) * (-2 * T / width) * bump
        y /= np.sqrt(np.sum(y ** 2, axis=1, keepdims=True))
        y += noise * rng.standard_normal((n, 400)) * np.hanning(400)
        write_netcdf(folder / f"data.nc{f + 1}", x, y.astype(np.float32), [n_frames] * n_utts,
                     [f"s{seed}f{f}u{i}" for i in range(n_utts)], means, stds,
                     np.zeros(400, np.float32), np.ones(400, np.float32))


def write_recordings(test_dir, wav_dir, seed=0):
    """``<tag>.wav`` (float, 16 kHz) for every test utterance: exactly the speech that
    evaluation synthesises from its features with the impulse excitation."""
    wav_dir.mkdir(parents=True, exist_ok=True)
    data = read_netcdf(list_data_files(test_dir)[0])
    for tag, inputs, _ in data.utterances():
        dummy = np.zeros((len(inputs), 400), np.float32)
        speech = evaluation.synthesize_utterance(inputs, data, dummy, dummy, seed)["impulse"]
        assert np.max(np.abs(speech)) < 1.0  # written unclipped
        write_wav(wav_dir / f"{tag}.wav", speech, 16000, subtype="FLOAT")


def folders(root):
    return ["--pulse_filters", str(FILTERS), "--gan_filters", str(FILTERS),
            "--data_dir", str(root / "train"), "--testdata_dir", str(root / "test"),
            "--model_dir", str(root / "models"), "--figures_dir", str(root / "figures"),
            "--out_dir", str(root / "output"), "--recordings_dir", str(root / "recordings")]


def run_train_py(argv):
    """train.main in-process; returns what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert train.main(argv) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """train.py --mode train (100 pulse-model steps, 30 GAN steps, context 2), then
    --mode generate and --mode evaluate (recordings given: the MCD path runs)."""
    root = tmp_path_factory.mktemp("resgan_quality")
    write_set(root / "train", 3, seed=0)  # nc1, nc2 train; nc3 is the held-out file
    write_set(root / "test", 1, seed=1)
    write_recordings(root / "test", root / "recordings")
    flags = folders(root) + ["--rnn_context_len", str(CONTEXT), "--seed", "0", "--verbose", "0",
                             "--epochs_pulse", "4", "--steps_per_epoch", "25", "--lr_pulse", "3e-3",
                             "--bn_momentum", "0.5", "--val_frames", "128", "--epochs_gan", "2",
                             "--steps_per_epoch_gan", "15", "--plot_every", "1000",
                             "--eval_utts", "2"]
    run_train_py(["--mode", "train", *flags])
    generated = run_train_py(["--mode", "generate", *flags])
    printed = run_train_py(["--mode", "evaluate", *flags])
    result = json.loads(printed.strip().splitlines()[-1])
    print(json.dumps(result))
    return root, result, generated


@pytest.mark.slow
def test_pulse_model_beats_the_input_independent_baselines(trained):
    """Held-out waveform MSE: pulse model < 0.75 x the training set's mean pulse < silence
    (the mean pulse cannot follow the width and odd part set by the inputs)."""
    _, r, _ = trained
    assert r["frames"] == 512
    assert r["mse_zero"] == pytest.approx(0.0026, rel=0.05)  # unit energy / 400 + noise
    assert r["mse_mean_pulse"] < 0.5 * r["mse_zero"]
    assert r["mse_pulse"] < 0.75 * r["mse_mean_pulse"], r


@pytest.mark.slow
def test_learning_curve_logs_the_baselines_measured_in_the_same_run(trained):
    """Every epoch's row holds the held-out MSEs (all and voiced frames) beside the silence
    and mean-pulse baselines; the last is below both; stats.json holds the mean pulses."""
    root, _, _ = trained
    with open(root / "models" / "pulse_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    last = {k: float(v) for k, v in rows[-1].items()}
    for frames in ("all", "voiced"):
        assert last[f"val_mse_pulse_{frames}"] < 0.75 * last[f"val_mse_mean_pulse_{frames}"], last
        assert last[f"val_mse_mean_pulse_{frames}"] < last[f"val_mse_zero_{frames}"], last
    assert float(rows[0]["val_mse_pulse_all"]) > last["val_mse_pulse_all"]
    stats = json.loads((root / "models" / "stats.json").read_text())
    y = np.concatenate([read_netcdf(f).targets for f in list_data_files(root / "train")[:2]])
    np.testing.assert_allclose(stats["mean_pulse_all"], y.mean(0), atol=1e-5)
    assert (root / "figures" / "resgan_learning_curve.png").stat().st_size > 1000


@pytest.mark.slow
def test_gan_adds_the_high_band_the_pulse_model_misses(trained):
    """Above 4 kHz the targets hold only the noise, which a least-squares pulse model cannot
    predict: 30 GAN steps bring the high-band log-spectral distance far below both the
    pulse model's and that of the same generator untrained (the paper's claim in miniature)."""
    _, r, _ = trained
    assert r["lsd_hf_gan"] < 0.6 * r["lsd_hf_gan_init"], r
    assert r["lsd_hf_gan"] < r["lsd_hf_pulse"] - 10.0, r
    assert r["lsd_lf_gan"] < r["lsd_lf_pulse"], r


@pytest.mark.slow
def test_mcd_path_pairs_each_recording_with_its_utterance(trained):
    """The recordings are the impulse-excited speech of their own features: the impulse MCD
    is 0 (right file, right alignment, right seed), the other excitations are not, and an
    independent MCD of a recording against another utterance's is large."""
    root, r, _ = trained
    assert r["mcd_utterances"] == 2
    assert r["mcd_impulse"] < 1e-3, r
    assert 0.1 < r["mcd_pulse"] < 40 and 0.1 < r["mcd_gan"] < 40, r
    a, _ = sf.read(root / "recordings" / "s1f0u0.wav")
    b, _ = sf.read(root / "recordings" / "s1f0u1.wav")
    assert mel_cepstral_distortion(a, b, 16000) > 1.0


@pytest.mark.slow
def test_generate_writes_pulses_of_every_test_utterance(trained):
    root, _, printed = trained
    assert "generated 4 utterances (512 frames, 2.6 s of speech)" in printed
    tags = read_netcdf(root / "test" / "data.nc1").seq_tags
    for tag in tags:
        gan = rs.read_pls(root / "output" / f"{tag}.pls")
        pulse = rs.read_pls(root / "output" / f"{tag}.pls_nonoise")
        assert gan.shape == pulse.shape == (128, 400)
        assert np.all(np.isfinite(gan)) and not np.allclose(gan, pulse)
    # the context-2 model was saved with its configuration
    assert load_config(root / "models" / "pulse_model.json")["rnn_context_len"] == CONTEXT
    model = keras.models.load_model(root / "models" / "pulse_model.keras", compile=False)
    assert tuple(model.input_shape) == (None, CONTEXT, 22)
    for name in ("resgan_pulse_loss", "resgan_gan_loss", "resgan_pulse_progress", "resgan_gan_progress"):
        assert (root / "figures" / f"{name}.png").stat().st_size > 1000


@pytest.mark.slow
def test_synthesize_cli_test_set_and_copy_synthesis(trained, tmp_path, tiny_corpus, capsys):
    """synthesize.py in both modes: three 16 kHz wavs per test utterance of n_frames x 80
    samples, the impulse one equal to the recording (same synthesis), a figure; then the
    copy-synthesis of a recording with the trained context-2 models: four wavs of its length."""
    root, _, _ = trained
    out, figs = tmp_path / "wav", tmp_path / "figures"
    assert synthesize.main(["--pls_dir", str(root / "output"), "--testdata_dir", str(root / "test"),
                            "--wav_dir", str(root / "recordings"), "--out_dir", str(out),
                            "--figures_dir", str(figs), "--rnn_context_len", str(CONTEXT)]) == 0
    assert "synthesised 4 utterances x 3 excitations" in capsys.readouterr().out
    tags = read_netcdf(root / "test" / "data.nc1").seq_tags
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{t}_{e}.wav" for t in tags for e in ("impulse", "pulse", "gan"))
    for tag in tags:
        speech = {}
        for e in ("impulse", "pulse", "gan"):
            speech[e], sr = sf.read(out / f"{tag}_{e}.wav")
            assert sr == 16000 and speech[e].shape == (128 * 80,) and np.std(speech[e]) > 1e-3
        recording, _ = sf.read(root / "recordings" / f"{tag}.wav")
        assert np.corrcoef(recording, speech["impulse"])[0, 1] > 0.999
        assert np.corrcoef(speech["pulse"], speech["impulse"])[0, 1] < 0.99
    assert (figs / "resgan_synthesis.png").stat().st_size > 1000

    copy = tmp_path / "copy"  # the model folder's own statistics: no --data_dir
    assert synthesize.main(["--input_dir", str(tiny_corpus / "wav"), "--model_dir", str(root / "models"),
                            "--out_dir", str(copy)]) == 0
    for wav in sorted((tiny_corpus / "wav").glob("*.wav")):
        x, _ = sf.read(wav)
        for e in ("impulse", "residual", "pulse", "gan"):
            y, sr = sf.read(copy / f"{wav.stem}_{e}.wav")
            assert sr == 16000 and y.shape == x.shape and np.std(y) > 1e-3
        assert (copy / f"{wav.stem}_spectrograms.png").stat().st_size > 1000


def bad_recordings(folder, tiny_corpus):
    """Two of the tiny corpus's recordings and a silent one (noise at -100 dBFS, -93 after 16-bit rounding)."""
    folder.mkdir()
    for wav in sorted((tiny_corpus / "wav").glob("*.wav"))[:2]:
        (folder / wav.name).write_bytes(wav.read_bytes())
    rng = np.random.default_rng(0)
    write_wav(folder / "zz_silent.wav", 1e-5 * rng.standard_normal(16000), 16000)
    return folder


@pytest.mark.slow
def test_evaluate_recordings_prints_the_keys_and_refuses_bad_files(trained, tmp_path, tiny_corpus, capsys):
    """--mode evaluate --wav_dir: one JSON line with the issue's keys, computed with the model
    folder's statistics; a silent file stops it with one line naming it, --skip_bad goes on."""
    root, _, _ = trained
    folder = bad_recordings(tmp_path / "wavs", tiny_corpus)
    argv = ["--mode", "evaluate", "--model_dir", str(root / "models"), "--wav_dir", str(folder),
            "--figures_dir", str(tmp_path / "fig")]
    with pytest.raises(SystemExit, match="1"):
        train.main(argv)
    assert "zz_silent.wav: silent (RMS level -9" in capsys.readouterr().err
    r = json.loads(run_train_py([*argv, "--skip_bad"]).strip().splitlines()[-1])
    for key in ("n_frames", "n_voiced", "mse_pulse_voiced", "mse_zero_voiced", "mse_mean_pulse_voiced",
                "lsd_hf_pulse", "lsd_hf_gan", "lsd_lf_pulse", "lsd_lf_gan", "mcd_impulse", "mcd_pulse",
                "mcd_gan", "stoi_impulse", "stoi_pulse", "stoi_gan"):
        assert isinstance(r[key], float if key.startswith(("mse", "lsd", "mcd", "stoi")) else int), key
    assert r["n_files"] == 2 and 0 < r["n_voiced"] <= r["n_frames"]
    assert r["mse_zero_voiced"] == pytest.approx(1 / 400, rel=1e-3)  # unit-energy pulses
    assert 0.5 < r["stoi_residual"] <= 1.0 and r["mcd_residual"] < r["mcd_pulse"]
    assert (tmp_path / "fig" / "resgan_heldout_pulses.png").stat().st_size > 1000


@pytest.mark.slow
def test_export_ships_a_folder_that_synthesizes_alone(trained, tmp_path, tiny_corpus, capsys):
    """resgan.export: models without optimizer, stats, configuration, logs; synthesize.py runs
    from it alone; a missing or mismatched file is named in one line and nothing is written."""
    root, _, _ = trained
    out = tmp_path / "shipped"
    assert export.main(["--model_dir", str(root / "models"), "--out_dir", str(out)]) == 0
    for name in ("pulse_model.keras", "generator.keras", "stats.json", "config.json", "pulse_log.csv",
                 "gan_log.csv"):
        assert (out / name).is_file(), name
    assert json.loads((out / "config.json").read_text())["pulse_model"]["pulse_filters"] == FILTERS
    wav = sorted((tiny_corpus / "wav").glob("*.wav"))[0]
    assert synthesize.main(["--input_file", str(wav), "--model_dir", str(out), "--data_dir",
                            str(tmp_path / "none"), "--out_dir", str(tmp_path / "d")]) == 0
    assert len(list((tmp_path / "d").glob("*.wav"))) == 4
    stats = json.loads((out / "stats.json").read_text())
    stats["input_means"] = stats["input_means"][:20]
    (out / "stats.json").write_text(json.dumps(stats))
    capsys.readouterr()
    with pytest.raises(SystemExit, match="1"):
        synthesize.main(["--input_file", str(wav), "--model_dir", str(out), "--out_dir", str(tmp_path / "e")])
    assert "stats.json: input_means has shape (20,), expected (22,)" in capsys.readouterr().err
    (out / "stats.json").unlink()
    with pytest.raises(SystemExit, match="1"):
        synthesize.main(["--input_file", str(wav), "--model_dir", str(out), "--data_dir",
                         str(tmp_path / "none"), "--out_dir", str(tmp_path / "e")])
    assert "stats.json: missing" in capsys.readouterr().err
    assert not list((tmp_path / "e").glob("*"))


@pytest.mark.slow
def test_early_stopping_stops_and_stays_stopped(tmp_path):
    """Learning rate 0 and frozen BatchNorm statistics: the held-out loss never improves
    after epoch 1, so with --patience 1 stage 1 stops after epoch 2 of 8, keeps epoch 1 as
    the best model, and a re-run says it has finished."""
    write_set(tmp_path / "train", 2, seed=0, n_utts=2, n_frames=32)
    write_set(tmp_path / "test", 1, seed=1, n_utts=2, n_frames=32)
    flags = folders(tmp_path) + ["--mode", "train_pulse_model", "--epochs_pulse", "8", "--patience", "1",
                                 "--lr_pulse", "0", "--bn_momentum", "1.0", "--steps_per_epoch", "1",
                                 "--batch_size", "8", "--val_frames", "32", "--verbose", "0"]
    printed = run_train_py(flags)
    assert "early stopping: val_wave_loss has not improved for 1 epochs" in printed
    state = json.loads((tmp_path / "models" / "pulse_state.json").read_text())
    assert state["stopped"] is True and state["epoch"] == 2 and state["best_epoch"] == 1
    log = (tmp_path / "models" / "pulse_log.csv").read_text().strip().splitlines()
    assert len(log) == 1 + 2
    assert load_config(tmp_path / "models" / "pulse_model.json")["best_epoch"] == 1
    assert "stage 1 already finished (2 epochs" in run_train_py(flags)
