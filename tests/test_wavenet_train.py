"""WaveNet vocoder training script: data windows, end-to-end run with resume, bad input."""
import csv
import json

import numpy as np
import pytest

from separation import train_vocoder
from separation.wavenet import WaveNetConfig

TINY = ["--n_layers", "4", "--n_stacks", "2", "--residual_channels", "8", "--steps_per_epoch", "2",
        "--batch_size", "2", "--window_frames", "2", "--sample_frames", "3", "--max_files", "2"]


def test_window_dataset_alignment(tiny_corpus):
    cfg = WaveNetConfig.default(n_layers=4, n_stacks=2)
    files = train_vocoder.list_speech_files(tiny_corpus)
    assert len(files) == 4
    utts = train_vocoder.load_utterances(files[:2], cfg, min_frames=3, progress=False)
    for wav, mel, speaker in utts:
        assert speaker is None
        assert len(wav) == len(mel) * cfg.hop and mel.shape[1] == 80
        assert 0 <= mel.min() and mel.max() <= 1
    ds = train_vocoder._window_dataset_class()(utts, cfg, batch_size=3, window_frames=2, steps=4, seed=1)
    x, y = ds[0]
    assert x["audio"].shape == (3, 512, 1) and x["mel"].shape == (3, 2, 80) and y.shape == (3, 512)
    # deterministic per (seed, epoch, index), different across indices
    np.testing.assert_array_equal(ds[0][1], y)
    assert not np.array_equal(ds[1][1], y)
    # each window is a real slice: its mel and its waveform come from the same frames
    from dsp.mulaw import mu_law_encode
    for b in range(3):
        for wav, mel, _ in utts:
            hits = [f for f in range(len(mel) - 1) if np.array_equal(mel[f:f + 2], x["mel"][b])]
            if hits:
                f = hits[0]
                np.testing.assert_array_equal(y[b], mu_law_encode(wav[f * 256:(f + 2) * 256]))
                break
        else:
            pytest.fail("window mel not found in any utterance")


def test_speaker_ids_and_globally_conditioned_windows(tiny_corpus):
    files = train_vocoder.list_speech_files(tiny_corpus)
    ids, names = train_vocoder.speaker_ids(files, r"^syn_(spk\d+)_")
    assert names == ["spk1", "spk2", "spk3", "spk4"] and sorted(ids) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="speaker_regex"):
        train_vocoder.speaker_ids(files, r"^LJ")
    cfg = WaveNetConfig.default(n_layers=4, n_stacks=2, n_speakers=4)
    rng = np.random.default_rng(0)
    utts = [(rng.uniform(-0.5, 0.5, 4 * 256).astype("float32"), np.full((4, 80), k / 4, "float32"), k)
            for k in (3, 1)]
    x, _ = train_vocoder._window_dataset_class()(utts, cfg, batch_size=6, window_frames=2, steps=1)[0]
    assert x["speaker"].shape == (6, 1)
    np.testing.assert_array_equal(x["speaker"][:, 0], np.round(x["mel"][:, 0, 0] * 4).astype(int))


def _write_tones(folder, sr=22050):
    """Two 1-second tone-plus-harmonics files (220 and 330 Hz, 3 harmonics, 1/h amplitudes)."""
    from dsp.audio import write_wav
    folder.mkdir()
    t = np.arange(sr) / sr
    for f0 in (220, 330):
        x = sum(0.4 / h * np.sin(2 * np.pi * f0 * h * t + h) for h in (1, 2, 3))
        write_wav(folder / f"tone_{f0}.wav", x, sr)
    return folder


def test_training_on_tones_lowers_loss_and_resumes(tmp_path, capsys):
    """Tone + harmonics conditioned on its own mel: the NLL drops, and keeps dropping after --resume."""
    data, out = _write_tones(tmp_path / "tones"), tmp_path / "run"
    args = ["--data_dir", str(data), "--out_dir", str(out), "--n_layers", "6", "--n_stacks", "2",
            "--residual_channels", "16", "--steps_per_epoch", "15", "--batch_size", "4", "--window_frames", "2",
            "--lr", "3e-3", "--sample_frames", "3"]
    assert train_vocoder.main(args + ["--epochs", "1", "--sample_every", "1"]) == 0
    for name in ("ckpt/latest.keras", "ckpt/latest.json", "vocoder.keras", "vocoder.json", "log.csv",
                 "samples/epoch_0001.wav", "samples/epoch_0001.png"):
        assert (out / name).is_file(), name
    import soundfile as sf
    wav, sr = sf.read(out / "samples" / "epoch_0001.wav")
    assert sr == 22050 and len(wav) == 3 * 256
    assert train_vocoder.main(args + ["--epochs", "2", "--sample_every", "0", "--resume"]) == 0
    assert "resuming from" in capsys.readouterr().out
    rows = list(csv.DictReader(open(out / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    first, second = float(rows[0]["loss"]), float(rows[1]["loss"])
    assert first < 5.5                            # ln(256) = 5.55 at initialisation
    assert second < first - 0.3, (first, second)  # a reset model (broken resume) would not improve
    assert json.loads((out / "ckpt" / "latest.json").read_text())["epoch"] == 2
    assert (out / "samples" / "epoch_0002.png").is_file()     # the final epoch always gets a sample


def test_train_script_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        train_vocoder.main(["--data_dir", str(tmp_path / "nope"), "--out_dir", str(tmp_path / "o")] + TINY)
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "nope" in err[0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        train_vocoder.main(["--data_dir", str(tmp_path / "empty"), "--out_dir", str(tmp_path / "o")] + TINY)
    assert "no audio files" in capsys.readouterr().err
    assert not (tmp_path / "o" / "vocoder.keras").exists()


def test_real_ljspeech_windows(realdata):
    cfg = WaveNetConfig.default()
    files = train_vocoder.list_speech_files(realdata / "ljspeech_sample")
    assert len(files) == 32
    (wav, mel, _), = train_vocoder.load_utterances(files[:1], cfg, min_frames=10, progress=False)
    assert len(wav) == len(mel) * 256 and len(mel) > 100         # seconds of 22.05 kHz speech
    # speech: frame energy varies a lot between pauses and voiced parts
    energy = mel.mean(axis=1)
    assert energy.max() - energy.min() > 0.2
