"""Synthetic noises (ESC-50 layout) and the data-making CLIs / 00_get_data.sh."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import welch

from corpus.noise import NOISE_CATEGORIES, make_noise, make_noises
from corpus.readers import read_esc50, read_ljspeech

SR = 16000
REPO = Path(__file__).resolve().parents[2]


def _slope(x, lo=50.0, hi=4000.0):
    """Log-log slope of the power spectrum between lo and hi Hz."""
    f, p = welch(x, SR, nperseg=4096)
    band = (f >= lo) & (f <= hi)
    return np.polyfit(np.log10(f[band]), np.log10(p[band]), 1)[0]


def test_noise_colours_have_their_spectral_slopes():
    assert abs(_slope(make_noise("white_noise", SR, 4.0, 0))) < 0.15
    assert _slope(make_noise("pink_noise", SR, 4.0, 0)) == pytest.approx(-1.0, abs=0.2)
    assert _slope(make_noise("brown_noise", SR, 4.0, 0)) == pytest.approx(-2.0, abs=0.25)


def test_hum_siren_clicks_babble():
    hum = make_noise("mains_hum", SR, 2.0, 1)
    f, p = welch(hum, SR, nperseg=8192)
    assert f[np.argmax(p)] == pytest.approx(50.0, abs=2.0) or f[np.argmax(p)] == pytest.approx(60.0, abs=2.0)
    siren = make_noise("siren_sweep", SR, 4.0, 2)
    frames = siren[: len(siren) // 1024 * 1024].reshape(-1, 1024)
    peak_hz = np.argmax(np.abs(np.fft.rfft(frames * np.hanning(1024), axis=1)), axis=1) * SR / 1024
    assert np.ptp(peak_hz) > 300  # the tone sweeps
    clicks = make_noise("clicks", SR, 2.0, 3)
    assert np.max(np.abs(clicks)) / np.sqrt(np.mean(clicks**2)) > 6  # impulsive
    babble = make_noise("babble", SR, 1.0, 4)
    env = np.sqrt(np.mean(babble[: 15 * 1000].reshape(15, 1000) ** 2, axis=1))
    assert env.min() > 0.05 * env.max()  # many talkers: no silent gaps
    for x in (hum, siren, clicks, babble):
        assert x.dtype == np.float32 and np.all(np.isfinite(x))
        assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) <= 0.1 + 1e-4 and np.abs(x).max() <= 0.95 + 1e-6
    with pytest.raises(ValueError, match="unknown noise category"):
        make_noise("wind", SR, 1.0)


def test_make_noises_esc50_layout_and_determinism(tmp_path):
    cats = ("pink_noise", "mains_hum", "clicks")
    paths = make_noises(tmp_path / "a", sr=SR, seconds=0.5, seed=1, n_per_kind=2, categories=cats)
    again = make_noises(tmp_path / "b", sr=SR, seconds=0.5, seed=1, n_per_kind=2, categories=cats)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    items = read_esc50(tmp_path / "a")
    assert [c for _, c, _ in items] == [c for c in cats for _ in range(2)]
    assert [f for _, _, f in items] == [1, 2] * 3
    assert [p for p, _, _ in items] == paths
    header = (tmp_path / "a" / "meta" / "esc50.csv").read_text().splitlines()[0]
    assert header == "filename,fold,target,category,esc10,src_file,take"
    info = sf.info(str(paths[0]))
    assert info.samplerate == SR and info.frames == SR // 2 and info.channels == 1
    assert set(cats) <= set(NOISE_CATEGORIES)


def _run(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=240, **kw)


@pytest.mark.slow
def test_get_data_script_offline_synthetic_and_idempotent(tmp_path):
    """One run of 00_get_data.sh --offline (generates), a second run skips; CLIs fail clearly."""
    data = tmp_path / "data"
    args = ["bash", "00_get_data.sh", "--offline", "--data_dir", str(data), "--minutes", "0.05",
            "--noise_seconds", "0.3", "--figures_dir", str(tmp_path / "fig"),
            "--train_dir", str(tmp_path / "traindata"), "--test_dir", str(tmp_path / "testdata")]
    first = _run(args)
    assert first.returncode == 0, first.stderr
    assert "falling back to the embedded synthetic corpus" in first.stdout
    items = read_ljspeech(data / "synthetic")
    assert len(items) >= 2 and (data / "synthetic" / "truth" / f"{items[0][0]}.npz").is_file()
    assert len(read_esc50(data / "noise")) == 2 * len(NOISE_CATEGORIES)
    assert (tmp_path / "fig" / "synthetic_corpus.png").stat().st_size > 10000
    assert (tmp_path / "traindata" / "data.nc1").is_file()  # packaged where told, not in the repo
    stamp = (data / "synthetic" / "metadata.csv").stat().st_mtime_ns
    second = _run(args)
    assert second.returncode == 0, second.stderr
    assert "already there" in second.stdout
    assert (data / "synthetic" / "metadata.csv").stat().st_mtime_ns == stamp
    bad = _run([sys.executable, "-m", "corpus.make_synthetic", "--out_dir", str(tmp_path / "x"),
                "--min_seconds", "3", "--max_seconds", "1"])
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1].startswith("error: seconds_per_utt")
    assert not (tmp_path / "x" / "metadata.csv").exists()
