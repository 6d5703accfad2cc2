"""The shipped AudioRNN (pretrained/audiornn): it loads, generates, continues a prime, and
still predicts held-out real speech better than the linear-prediction baseline."""
import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiornn import AudioRNN
from audiornn.checkpoint import model_paths
from audiornn.evaluation import evaluate
from audiornn.training import load_data
from dsp.backend import load_keras_model

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "pretrained" / "audiornn" / "audiornn.keras"


def test_shipped_folder_is_complete_and_small():
    folder = MODEL.parent
    for name in ("audiornn.keras", "audiornn.json", "audiornn.log.csv", "command.sh", "README.md",
                 "split.json"):
        assert (folder / name).is_file(), name
    assert sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) < 20e6
    config = json.loads((folder / "audiornn.json").read_text())
    assert config["cache"] is None and config["start"] == "silence"
    assert config["targets"] == "all" and config["samplerate"] == 8000


@pytest.mark.slow
def test_shipped_model_generates_from_silence_and_continues_a_prime(tmp_path, realdata):
    AudioRNN.main(["-g", "-m", str(MODEL), "-gl", "0.1", "--num_streams", "1",
                   "-a", str(tmp_path / "s.wav")])   # its configuration: start from silence
    x, sr = sf.read(tmp_path / "s.wav")
    assert sr == 8000 and len(x) == 800 and np.all(np.isfinite(x)) and np.abs(x).max() <= 1.0
    prime = realdata / "fsdd_8k" / "3_nicolas_7.wav"     # a speaker the model never heard
    AudioRNN.main(["-g", "-m", str(MODEL), "--prime", str(prime), "-gl", "0.1", "--num_streams", "1",
                   "-a", str(tmp_path / "p.wav")])
    y, _ = sf.read(tmp_path / "p.wav")
    p, _ = sf.read(prime)
    assert len(y) == len(p) + 800
    np.testing.assert_allclose(y[:len(p)], p, atol=1e-4)    # the prime, then the continuation
    assert np.std(y[len(p):]) > 1e-3                        # it goes on, not silence


@pytest.mark.slow
def test_shipped_model_beats_linear_prediction_on_an_unseen_speaker(tmp_path, realdata):
    """Bits per sample on 20 recordings of the test speaker (nicolas, never trained or
    validated on) at least 0.5 bit below an order-16 linear predictor fitted to 20 recordings
    of a training speaker, and more accurate than both baselines."""
    folders = {}
    for name, speaker in (("fit", "george"), ("held", "nicolas")):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for f in sorted((realdata / "fsdd_8k").glob(f"*_{speaker}_1*.wav"))[:20]:
            (folders[name] / f.name).symlink_to(f)
    model = load_keras_model(MODEL, "model")
    args = argparse.Namespace(data_dir=str(folders["fit"]), cache=str(tmp_path / "fit.npz"),
                              samplerate=8000, mu=255, preemphasis=0.95, timesteps=model.input_shape[1],
                              val_fraction=0.1, val_dir=str(folders["held"]))
    paths = model_paths(tmp_path / "m.keras")
    cache, train_idx, val_idx = load_data(args, paths)
    results = evaluate(model, cache, val_idx, train_idx, max_windows=1024)
    lp, uni, net = results["linear_prediction_16"], results["unigram"], results["model"]
    assert net["bits_per_sample"] < lp["bits_per_sample"] - 0.5, results
    assert net["accuracy"] > max(lp["accuracy"], uni["accuracy"]), results
