"""The shipped ResGAN (pretrained/resgan): complete, small, loads, and on speakers it never
heard (asterisk fr, LJSpeech) still does what it was shipped for: the pulse model predicts
voiced pulses better than the training set's mean voiced pulse, the GAN restores the 4-8 kHz
band, and copy-synthesis stays intelligible with every excitation (numbers measured when it
was shipped: pretrained/resgan/README.md)."""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import synthesize
from resgan.model_folder import load_model_folder
from resgan.recording_evaluation import evaluate_recordings
from resgan.recordings import analyze_recording

FOLDER = Path(__file__).resolve().parents[2] / "pretrained" / "resgan"


def test_shipped_folder_is_complete_and_small():
    for name in ("pulse_model.keras", "generator.keras", "stats.json", "config.json", "pulse_log.csv",
                 "gan_log.csv", "command.sh", "README.md"):
        assert (FOLDER / name).is_file(), name
    assert sum(f.stat().st_size for f in FOLDER.iterdir() if f.is_file()) < 20e6
    config = json.loads((FOLDER / "config.json").read_text())
    assert config["generator"]["preset"] == "speech16k" and config["generator"]["gan_pitch_window"]


@pytest.fixture(scope="module")
def shipped():
    return load_model_folder(FOLDER)


@pytest.mark.slow
def test_shipped_pulse_model_beats_the_mean_pulse_on_a_new_speaker(shipped, realdata):
    # measured at shipping: 0.990 x the mean pulse, 0.86 x silence
    r = evaluate_recordings(shipped, [analyze_recording(realdata / "asterisk16k" / "fr" / "agent-loginok.flac")],
                            progress=False)
    assert r["mse_pulse_voiced"] < r["mse_mean_pulse_voiced"] < r["mse_zero_voiced"], r


@pytest.mark.slow
def test_shipped_gan_restores_the_high_band_and_speech_stays_intelligible(shipped, realdata, tmp_path):
    clip = realdata / "ljspeech_sample" / "wavs" / "LJ001-0001.wav"
    r = evaluate_recordings(shipped, [analyze_recording(clip)], progress=False)
    # measured at shipping: lsd_hf pulse 20.9, GAN 11.0 dB; STOI 0.93 / 0.89 / 0.84
    assert r["lsd_hf_gan"] < r["lsd_hf_pulse"] - 5.0, r
    for e in ("impulse", "pulse", "gan"):
        assert r[f"stoi_{e}"] > 0.8, r
    assert synthesize.main(["--model_dir", str(FOLDER), "--input_file", str(clip), "--out_dir", str(tmp_path)]) == 0
    x, sr_in = sf.read(clip)
    for e in ("impulse", "pulse", "gan"):
        y, sr = sf.read(tmp_path / f"LJ001-0001_{e}.wav")
        assert sr == 16000 and abs(len(y) - len(x) * 16000 / sr_in) < 2 and np.all(np.isfinite(y))
    assert (tmp_path / "LJ001-0001_spectrograms.png").stat().st_size > 1000
