"""CNN vocoder scripts: preprocess segments, train / resume, synthesis CLI errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnvocoder import preprocess, train
from cnnvocoder.config import load_config, make_config
from cnnvocoder.features import compute_features
from dsp.audio import write_wav

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(prenet_channels=[2, 2], upsample_channels=[4] * 8, postnet_blocks=1,
            postnet_channels=4, batch_size=2)


def _voice(seconds, sr, f0=120.0):
    t = np.arange(int(seconds * sr)) / sr
    ph = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * 1.5 * t))) / sr
    return (sum(0.2 / k * np.sin(k * ph) for k in range(1, 20)) * (0.6 + 0.4 * np.sin(3 * t)))


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    root = tmp_path_factory.mktemp("cnnvoc")
    wavs = root / "wavs"
    wavs.mkdir()
    write_wav(wavs / "a.wav", _voice(1.6, 22050), 22050)
    write_wav(wavs / "b.wav", _voice(1.2, 22050, 180.0), 22050)
    write_wav(wavs / "short16k.wav", _voice(0.4, 16000, 150.0), 16000)  # resampled + padded
    out = root / "seg"
    preprocess.main(["--data_dir", str(wavs), "--out_dir", str(out), "--samples_per_audio", "2",
                     "--num_workers", "1", "--val_fraction", "0.3"])
    return out


def test_preprocess_writes_aligned_segments(segments):
    train_list = (segments / "train.txt").read_text().split()
    val_list = (segments / "val.txt").read_text().split()
    assert len(train_list) + len(val_list) == 6 and len(val_list) == 2
    assert not set(train_list) & set(val_list)
    config = make_config()
    for name in train_list + val_list:
        with np.load(segments / "segments" / name) as d:
            wav, spec, mel = d["wav"], d["spec"], d["mel"]
        assert wav.shape == (81 * 256,) and spec.shape == (81, 1025) and mel.shape == (81, 80)
        if name.startswith("short16k"):
            continue  # padded with silence
        # the stored frames describe the stored samples: re-analysing the segment
        # gives the same interior frames (frame j centred on sample j * 256)
        re_spec, _ = compute_features(wav, config)
        np.testing.assert_allclose(re_spec[4:77], spec[4:77], atol=2e-3)


def test_preprocess_is_deterministic(segments, tmp_path):
    wavs = segments.parent / "wavs"
    preprocess.main(["--data_dir", str(wavs), "--out_dir", str(tmp_path), "--samples_per_audio",
                     "2", "--num_workers", "1", "--val_fraction", "0.3"])
    name = (segments / "train.txt").read_text().split()[0]
    with np.load(segments / "segments" / name) as a, np.load(tmp_path / "segments" / name) as b:
        np.testing.assert_array_equal(a["wav"], b["wav"])


def test_preprocess_val_dir_holds_out_exactly_its_recordings(segments, tmp_path, capsys):
    wavs = segments.parent / "wavs"
    val_dir = tmp_path / "val"
    val_dir.mkdir()
    write_wav(val_dir / "c.wav", _voice(1.0, 22050, 140.0), 22050)
    out = tmp_path / "seg"
    preprocess.main(["--data_dir", str(wavs), "--val_dir", str(val_dir), "--out_dir", str(out),
                     "--samples_per_audio", "2", "--num_workers", "1"])
    val = (out / "val.txt").read_text().split()
    train = (out / "train.txt").read_text().split()
    assert sorted(val) == ["c_000.npz", "c_001.npz"] and len(train) == 6
    # a validation recording that is also a training one is refused
    write_wav(val_dir / "a.wav", _voice(1.0, 22050), 22050)
    with pytest.raises(SystemExit) as exc:
        preprocess.main(["--data_dir", str(wavs), "--val_dir", str(val_dir), "--out_dir",
                         str(tmp_path / "o2"), "--num_workers", "1"])
    assert exc.value.code == 1 and "also in" in capsys.readouterr().err


def test_preprocess_bad_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exc:
        preprocess.main(["--data_dir", str(tmp_path / "empty"), "--out_dir", str(tmp_path / "o")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "empty" in err[0]


@pytest.mark.slow
def test_training_steps_lower_the_loss():
    keras.utils.set_random_seed(0)
    config = make_config(**{**TINY, "upsample_channels": [4, 4]})  # x4: a cheap graph
    model = train.build_and_compile(config)
    x = np.random.default_rng(0).random((2, 64, 1025)).astype("float32")
    y = np.stack([_voice(256 / 22050, 22050, f) for f in (110, 170)]).astype("float32")
    hist = model.fit(x, y, epochs=12, batch_size=2, verbose=0).history
    assert set(hist) >= {"loss", "log_mag_all", "log_mag_low", "lin_mag_low"}
    # training-mode losses (BatchNorm on batch statistics) on a fixed batch
    assert hist["loss"][-1] < hist["loss"][0] * 0.9
    total = hist["log_mag_all"][-1] + hist["log_mag_low"][-1] + hist["lin_mag_low"][-1]
    assert total == pytest.approx(hist["loss"][-1], rel=1e-3)


@pytest.mark.slow
def test_train_checkpoints_and_resume(segments, tmp_path):
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY))
    out = tmp_path / "model"
    common = ["--data_dir", str(segments), "--model_dir", str(out), "--preset", str(cfg),
              "--steps_per_epoch", "1", "--validation_steps", "1", "--sample_every", "1"]
    train.main(common + ["--epochs", "1"])
    assert json.loads((out / "state.json").read_text())["epoch"] == 1
    for f in ("last.keras", "last.json", "model.keras", "model.json", "samples/epoch0001_0.wav"):
        assert (out / f).is_file(), f
    assert not list(out.glob("*.tmp*"))
    # the resolved configuration (preset + flags) is saved beside every checkpoint
    saved = json.loads((out / "model.json").read_text())
    assert saved["preset"] == str(cfg) and saved["epochs"] == 1 and saved["seed"] == 0
    assert load_config(out / "model.json") == make_config(**TINY)
    train.main(common + ["--epochs", "2"])  # resumes by default
    assert json.loads((out / "state.json").read_text())["epoch"] == 2
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 3 and "log_mag_low" in rows[0]  # header + epochs 0 and 1
    assert json.loads((out / "last.json").read_text())["upsample_channels"] == [4] * 8
    train.main(common + ["--epochs", "1", "--no-resume"])  # starts over
    assert json.loads((out / "state.json").read_text())["epoch"] == 1
    assert len((out / "log.csv").read_text().strip().splitlines()) == 2


def test_synthesis_cli_rejects_nan_spectrogram(tmp_path):
    bad = tmp_path / "bad.npz"
    spec = np.full((10, 1025), 0.5, dtype=np.float32)
    spec[3, 7] = np.nan
    np.savez(bad, spec=spec)
    out = tmp_path / "out.wav"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "cnnvocoder.synthesis", "--method", "pghi",
                        "--input", str(bad), "--output", str(out)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "NaN" in lines[0]
    assert not out.exists()
