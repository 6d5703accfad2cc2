"""WaveNet vocoder training: presets, data windows, the CLI end to end with resume, bad input."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dsp.audio import write_wav
from dsp.mulaw import mu_law_decode, mu_law_encode
from dsp.presets import load_config, load_preset, parse_args, preset_names
from wavenet import train as train_cli
from wavenet import training
from wavenet import PRESET_DIR
from wavenet.model import WaveNetConfig, load_vocoder

REPO = Path(__file__).resolve().parents[2]

TINY = ["--n_layers", "4", "--n_stacks", "2", "--residual_channels", "8", "--steps_per_epoch", "2",
        "--batch_size", "2", "--window_frames", "2", "--sample_frames", "3", "--max_files", "2"]


def test_presets_resolve():
    assert preset_names(PRESET_DIR) == ["default", "paper"]
    assert WaveNetConfig.default() == WaveNetConfig()        # the dataclass defaults are the default preset
    paper = WaveNetConfig.paper()
    assert (paper.n_layers, paper.n_stacks, paper.residual_channels, paper.gate_channels, paper.skip_channels,
            paper.output, paper.n_mixtures) == (24, 4, 512, 512, 256, "mol", 10)
    assert WaveNetConfig.paper(n_mixtures=3).n_mixtures == 3
    parser = train_cli.build_parser()
    flags = {a.dest for a in parser._actions}
    for name in preset_names(PRESET_DIR):
        assert set(load_preset(PRESET_DIR, name)) <= flags, name   # every preset key is a flag
    args = parse_args(train_cli.build_parser(), PRESET_DIR, ["--preset", "paper", "--n_layers", "8"])
    cfg = training.make_config(args)
    assert (cfg.n_layers, cfg.n_stacks, cfg.output) == (8, 4, "mol")
    args = parse_args(train_cli.build_parser(), PRESET_DIR, ["--residual_channels", "8"])
    cfg = training.make_config(args)
    assert (cfg.residual_channels, cfg.gate_channels, cfg.skip_channels) == (8, 16, 8)
    with pytest.raises(ValueError, match="no preset named 'nope'"):
        WaveNetConfig.from_preset("nope")


def test_train_cli_help_as_module():
    run = subprocess.run([sys.executable, "-m", "wavenet.train", "--help"], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    for flag in ("--data_dir", "--out_dir", "--preset", "--seed", "--resume", "--no-resume", "--epochs",
                 "--steps_per_epoch", "--batch_size", "--max_minutes", "--final"):
        assert flag in run.stdout, flag
    assert "--config" not in run.stdout


def test_window_dataset_alignment(tiny_corpus):
    cfg = WaveNetConfig.default(n_layers=4, n_stacks=2)
    files = training.list_speech_files(tiny_corpus)
    assert len(files) == 4
    utts = training.load_utterances(files[:2], cfg, min_frames=3, progress=False)
    for wav, mel, speaker in utts:
        assert speaker is None
        assert len(wav) == len(mel) * cfg.hop and mel.shape[1] == 80
        assert 0 <= mel.min() and mel.max() <= 1
    ds = training.WindowDataset(utts, cfg, batch_size=3, window_frames=2, steps=4, seed=1)
    x, y = ds[0]
    assert x["audio"].shape == (3, 512, 1) and x["mel"].shape == (3, 2, 80) and y.shape == (3, 512)
    # deterministic per (seed, epoch, index), different across indices
    np.testing.assert_array_equal(ds[0][1], y)
    assert not np.array_equal(ds[1][1], y)
    # each window is a real slice: its mel and its waveform come from the same frames
    for b in range(3):
        for wav, mel, _ in utts:
            hits = [f for f in range(len(mel) - 1) if np.array_equal(mel[f:f + 2], x["mel"][b])]
            if hits:
                f = hits[0]
                np.testing.assert_array_equal(y[b], mu_law_encode(wav[f * 256:(f + 2) * 256]))
                break
        else:
            pytest.fail("window mel not found in any utterance")


def test_input_noise_moves_the_past_by_a_few_mu_law_steps_and_keeps_windows_and_targets(tiny_corpus):
    """``input_noise=3``: the same windows and the same clean targets as without it; the input stays on
    the µ-law grid, moved by round(N(0, sigma)) codes with sigma ~ U(0, 3) per window: the mean
    absolute move of a window is at most E|N(0, 3)| ~ 2.4 codes (plus rounding), none moves by more
    than 8 sigma, and the windows' noise levels differ."""
    cfg = WaveNetConfig.default(n_layers=4, n_stacks=2)
    utts = training.load_utterances(training.list_speech_files(tiny_corpus)[:2], cfg, min_frames=3,
                                    progress=False)
    clean = training.WindowDataset(utts, cfg, batch_size=8, window_frames=2, steps=2, seed=1)
    noisy = training.WindowDataset(utts, cfg, batch_size=8, window_frames=2, steps=2, seed=1, input_noise=3.0)
    (xc, yc), (xn, yn) = clean[1], noisy[1]
    np.testing.assert_array_equal(yn, yc)
    np.testing.assert_array_equal(xn["mel"], xc["mel"])
    codes_c, codes_n = mu_law_encode(xc["audio"][..., 0]), mu_law_encode(xn["audio"][..., 0])
    np.testing.assert_allclose(mu_law_decode(codes_n), xn["audio"][..., 0], atol=1e-6)   # on the grid
    moves = np.abs(codes_n.astype(int) - codes_c.astype(int))
    per_window = moves.mean(axis=1)
    assert moves.max() <= 24 and per_window.max() < 2.8 and moves.mean() > 0.3
    assert per_window.max() - per_window.min() > 0.5
    np.testing.assert_array_equal(training.WindowDataset(utts, cfg, batch_size=8, window_frames=2, steps=2, seed=1,
                                                         input_noise=3.0)[1][0]["audio"], xn["audio"])


def test_speaker_ids_and_globally_conditioned_windows(tiny_corpus):
    files = training.list_speech_files(tiny_corpus)
    ids, names = training.speaker_ids(files, r"^syn_(spk\d+)_")
    assert names == ["spk1", "spk2", "spk3", "spk4"] and sorted(ids) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="speaker_regex"):
        training.speaker_ids(files, r"^LJ")
    cfg = WaveNetConfig.default(n_layers=4, n_stacks=2, n_speakers=4)
    rng = np.random.default_rng(0)
    utts = [(rng.uniform(-0.5, 0.5, 4 * 256).astype("float32"), np.full((4, 80), k / 4, "float32"), k)
            for k in (3, 1)]
    x, _ = training.WindowDataset(utts, cfg, batch_size=6, window_frames=2, steps=1)[0]
    assert x["speaker"].shape == (6, 1)
    np.testing.assert_array_equal(x["speaker"][:, 0], np.round(x["mel"][:, 0, 0] * 4).astype(int))


def _write_tones(folder, sr=22050):
    """Two 1-second tone-plus-harmonics files (220 and 330 Hz, 3 harmonics, 1/h amplitudes)."""
    folder.mkdir()
    t = np.arange(sr) / sr
    for f0 in (220, 330):
        x = sum(0.4 / h * np.sin(2 * np.pi * f0 * h * t + h) for h in (1, 2, 3))
        write_wav(folder / f"tone_{f0}.wav", x, sr)
    return folder


@pytest.mark.slow
def test_training_on_tones_lowers_loss_and_resumes(tmp_path, capsys):
    """Tone + harmonics conditioned on its own mel: the NLL drops, and keeps dropping after resuming.

    The first run saves its resolved flags (config.json, and inside the checkpoint's JSON); the
    second run is started from them alone (``--preset run/config.json``) and resumes by default;
    a third with ``--no-resume`` starts over.
    """
    data, out = _write_tones(tmp_path / "tones"), tmp_path / "run"
    args = ["--data_dir", str(data), "--out_dir", str(out), "--n_layers", "6", "--n_stacks", "2",
            "--residual_channels", "16", "--steps_per_epoch", "15", "--batch_size", "4", "--window_frames", "2",
            "--lr", "3e-3", "--sample_frames", "3"]
    assert train_cli.main(args + ["--epochs", "1", "--sample_every", "1"]) == 0
    assert "no checkpoint yet" in capsys.readouterr().out
    for name in ("ckpt/latest.keras", "ckpt/latest.json", "vocoder.keras", "vocoder.json", "config.json", "log.csv",
                 "samples/epoch_0001.wav", "samples/epoch_0001.png"):
        assert (out / name).is_file(), name
    wav, sr = sf.read(out / "samples" / "epoch_0001.wav")
    assert sr == 22050 and len(wav) == 3 * 256
    resolved = load_config(out / "config.json")
    assert resolved["preset"] == "default" and resolved["resume"] is True and resolved["epochs"] == 1
    assert (resolved["residual_channels"], resolved["gate_channels"], resolved["kernel_size"]) == (16, 32, 3)
    assert json.loads((out / "ckpt" / "latest.json").read_text())["args"] == resolved
    assert load_vocoder(out / "vocoder.keras")[1] == WaveNetConfig.default(
        n_layers=6, residual_channels=16, gate_channels=32, skip_channels=16)

    split = json.loads((out / "split.json").read_text())   # one of the two files held out
    assert len(split["train"]) == len(split["val"]) == 1 and set(split["train"]).isdisjoint(split["val"])

    assert train_cli.main(["--preset", str(out / "config.json"), "--epochs", "2", "--sample_every", "0"]) == 0
    assert "resuming from" in capsys.readouterr().out
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    first, second = float(rows[0]["loss"]), float(rows[1]["loss"])
    assert first < 5.5                            # ln(256) = 5.55 at initialisation
    assert second < first - 0.3, (first, second)  # a reset model (broken resume) would not improve
    assert all(np.isfinite(float(r["val_loss"])) for r in rows)   # the held-out tone is scored every epoch
    assert json.loads((out / "split.json").read_text()) == split  # resuming keeps the split
    meta = json.loads((out / "ckpt" / "latest.json").read_text())
    assert meta["epoch"] == 2 and meta["args"]["epochs"] == 2 and meta["args"]["lr"] == 3e-3
    assert (out / "samples" / "epoch_0002.png").is_file()     # the final epoch always gets a sample

    assert train_cli.main(args + ["--epochs", "1", "--steps_per_epoch", "1", "--no-resume"]) == 0   # start over
    assert "resuming" not in capsys.readouterr().out
    assert [int(r["epoch"]) for r in csv.DictReader(open(out / "log.csv"))] == [0]
    assert json.loads((out / "ckpt" / "latest.json").read_text())["epoch"] == 1


def test_train_script_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        train_cli.main(["--data_dir", str(tmp_path / "nope"), "--out_dir", str(tmp_path / "o")] + TINY)
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "nope" in err[0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        train_cli.main(["--data_dir", str(tmp_path / "empty"), "--out_dir", str(tmp_path / "o")] + TINY)
    assert "no audio files" in capsys.readouterr().err
    assert not (tmp_path / "o" / "vocoder.keras").exists()
    with pytest.raises(SystemExit):
        train_cli.main(["--data_dir", str(tmp_path / "empty"), "--out_dir", str(tmp_path / "o"), "--input_noise", "-1"])
    assert "--input_noise must be >= 0" in capsys.readouterr().err


def test_input_noise_is_refused_for_the_mixture_head_before_anything_is_written(tiny_corpus, tmp_path, capsys):
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as e:
        train_cli.main(["--data_dir", str(tiny_corpus), "--out_dir", str(out), "--output", "mol",
                        "--input_noise", "2"] + TINY)
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --input_noise needs the mulaw256 output; this model's is mol"]
    assert list(out.iterdir()) == []


def test_real_ljspeech_windows(realdata):
    cfg = WaveNetConfig.default()
    files = training.list_speech_files(realdata / "ljspeech_sample")
    assert len(files) == 32
    (wav, mel, _), = training.load_utterances(files[:1], cfg, min_frames=10, progress=False)
    assert len(wav) == len(mel) * 256 and len(mel) > 100         # seconds of 22.05 kHz speech
    # speech: frame energy varies a lot between pauses and voiced parts
    energy = mel.mean(axis=1)
    assert energy.max() - energy.min() > 0.2


def test_split_holds_out_files_per_folder_deterministically():
    folders = [[Path(f"a/{i}.wav") for i in range(20)], [Path("b/0.wav")], [Path("c/0.wav"), Path("c/1.wav")]]
    train, val = training.split_files(folders, 0.1, seed=3)
    assert [sum(p.startswith(d) for p in val) for d in "abc"] == [2, 0, 1]   # >= 1 where a folder has 2+
    assert set(train).isdisjoint(val) and sorted(train + val) == sorted(str(p) for f in folders for p in f)
    assert training.split_files(folders, 0.1, seed=3) == (train, val)
    assert training.split_files(folders, 0.1, seed=4)[1] != val
    assert training.split_files(folders, 0.0, seed=3)[1] == []
