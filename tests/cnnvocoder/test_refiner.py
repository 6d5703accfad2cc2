"""The PGHI-refining CNN vocoder (cnnvocoder.refiner): its inverse STFT, its phase loss,
its untrained identity with PGHI, a short training that beats PGHI on a harmonic signal,
the trainer's resume and bad input, and the shipped model in pretrained/cnnvocoder."""
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from cnnvocoder import train_refiner
from cnnvocoder.config import make_config
from cnnvocoder.features import compute_spec, spec_to_magnitude
from cnnvocoder.inversion import invert, load_vocoder
from cnnvocoder.refiner import (RefinerVocoder, build_refiner, is_refiner, pghi_start,
                                phase_derivative_loss)
from cnnvocoder.refiner_layers import ISTFTSynthesis, RefinerFeatures
from dsp.audio import InputError, write_wav
from dsp.metrics import spectral_convergence
from dsp.spectral import stft

SR = 22050
CONFIG = make_config()
SMALL = {**CONFIG, "refiner_channels": 4, "refiner_blocks": 1, "max_log_gain": 3.0}
PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained" / "cnnvocoder"


def _harmonic(seconds=1.0, f0=140.0, seed=0):
    """Vibrato harmonic tone (24 harmonics, random phases) with faded ends, clipped tops."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    ph = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / SR
    x = sum(0.2 / k * np.sin(k * ph + rng.uniform(0, 2 * np.pi)) for k in range(1, 25))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(2048) / 2048)
    x[:2048] *= ramp
    x[-2048:] *= ramp[::-1]
    return x.astype(np.float32)


def _sc(spec, y):
    re_spec = compute_spec(y, CONFIG)
    n = min(len(spec), len(re_spec))
    return spectral_convergence(spec_to_magnitude(spec[:n], CONFIG),
                                spec_to_magnitude(re_spec[:n], CONFIG))


def test_istft_synthesis_inverts_the_true_stft_exactly():
    """True magnitude and phase, no correction: the waveform comes back (the frames are
    centred, so only the first and last half window miss a frame)."""
    x = _harmonic(0.5)
    X = stft(x, 2048, 256, 1024)
    f = lambda a: keras.ops.convert_to_tensor(a[None].astype(np.float32))  # noqa: E731
    zeros = np.zeros(X.shape, np.float32)
    y, unit = ISTFTSynthesis(2048, 1024, 256)(f(np.log(np.abs(X) + 1e-12)), f(np.angle(X)),
                                               f(zeros + 1.0), f(zeros), f(zeros))
    y = np.asarray(y)[0]
    assert y.shape == (X.shape[0] * 256,)
    assert np.abs(y[512:len(x) - 512] - x[512:len(x) - 512]).max() < 1e-4
    assert np.allclose(np.asarray(unit)[0, ..., 0], np.cos(np.angle(X)), atol=1e-5)


def test_phase_derivative_loss_ignores_a_constant_offset_and_counts_a_drift():
    x = _harmonic(0.5)
    X = stft(x, 2048, 256, 1024)
    true = np.stack([X.real, X.imag], -1)[None].astype(np.float32)
    unit = lambda p: np.stack([np.cos(p), np.sin(p)], -1)[None].astype(np.float32)  # noqa: E731
    phase = np.angle(X)
    assert float(phase_derivative_loss(true, unit(phase + 0.7))[0]) < 1e-5
    # an error growing by 0.3 rad per frame: 1 - cos(0.3) in time, nothing along frequency
    drift = phase + 0.3 * np.arange(len(X))[:, None]
    assert float(phase_derivative_loss(true, unit(drift))[0]) == pytest.approx(
        1 - np.cos(0.3), rel=1e-3)
    rng = np.random.default_rng(0)
    assert float(phase_derivative_loss(true, unit(rng.uniform(-np.pi, np.pi, X.shape)))[0]) > 1.5


def test_features_see_phase_differences_not_phases():
    """A phase advancing at every bin's centre frequency has time-difference cosine 1."""
    frames, bins = 6, 1025
    phase = (np.arange(frames)[:, None] * np.arange(bins)[None] * 2 * np.pi * 256 / 2048)
    spec = np.full((frames, bins), 0.5, np.float32)
    feats = np.asarray(RefinerFeatures()(spec[None], phase[None].astype(np.float32),
                                         np.zeros((1, frames, bins), np.float32)))[0]
    assert feats.shape == (frames, bins, 8)
    assert np.allclose(feats[1:, 1:-1, 4], 1.0, atol=1e-3)   # cos of the time difference
    assert np.allclose(feats[..., 1:3], 0.0)                  # flat spectrogram: no slopes


def test_untrained_refiner_is_pghi_and_compiled_equals_eager():
    x = _harmonic(1.0)
    spec = compute_spec(x, CONFIG)
    model = build_refiner(SMALL)
    assert is_refiner(model)
    eager = RefinerVocoder(model, CONFIG, compile=False)(spec)
    compiled = RefinerVocoder(model, CONFIG, compile=True)(spec)
    np.testing.assert_allclose(compiled, eager, atol=1e-5)
    # zero-initialised corrections: the output is the PGHI start, as invert() makes it
    assert _sc(spec, eager) == pytest.approx(_sc(spec, invert(spec, "pghi")), abs=2e-3)
    assert np.allclose(invert(spec, "cnn", model=model), eager, atol=1e-5)


def test_a_short_training_beats_its_pghi_start(tmp_path):
    """60 steps on one harmonic recording lower the validation spectral convergence of a
    second one (another F0 and phases) below PGHI's, fixed seed."""
    train_dir, val_dir = tmp_path / "train", tmp_path / "val"
    train_dir.mkdir()
    val_dir.mkdir()
    write_wav(train_dir / "a.wav", _harmonic(3.0, 120.0, seed=1), SR)
    write_wav(val_dir / "b.wav", _harmonic(1.5, 170.0, seed=2), SR)
    out = tmp_path / "model"
    args = ["--train_dir", str(train_dir), "--val_dir", str(val_dir), "--model_dir", str(out),
            "--refiner_channels", "8", "--refiner_blocks", "2", "--epochs", "3",
            "--steps_per_epoch", "20", "--batch_size", "4", "--segment_frames", "32"]
    train_refiner.main(args)
    rows = (out / "log.csv").read_text().splitlines()
    assert len(rows) == 4
    spec = compute_spec(_harmonic(1.5, 170.0, seed=2), CONFIG)
    pghi_sc = _sc(spec, invert(spec, "pghi"))
    best = min(float(r.split(",")[rows[0].split(",").index("val_sc")]) for r in rows[1:])
    assert best < pghi_sc - 0.005, (best, pghi_sc)
    # the kept model reproduces its logged score; a finished run has nothing to do
    model, config = load_vocoder(out / "model.keras")
    assert _sc(spec, invert(spec, "cnn", model=model, config=config)) == pytest.approx(best,
                                                                                      abs=1e-3)
    assert json.loads((out / "state.json").read_text())["epoch"] == 3
    train_refiner.main(args)
    assert len((out / "log.csv").read_text().splitlines()) == 4


def test_trainer_refuses_bad_input_with_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exc:
        train_refiner.main(["--train_dir", str(tmp_path / "empty"), "--model_dir",
                            str(tmp_path / "m")])
    assert exc.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "empty" in err[0] and "no audio files" in err[0]
    with pytest.raises(SystemExit):
        train_refiner.main(["--train_dir", str(tmp_path / "nowhere"), "--model_dir",
                            str(tmp_path / "m")])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere: no such folder" in err[0]
    short = {"name": "tiny", "spec": np.zeros((10, 1025), np.float32)}
    with pytest.raises(InputError, match="tiny: shorter than one training window"):
        train_refiner.Windows([short], 64, 2, 1, 256, 0)
    assert not (tmp_path / "m").exists()


def test_pretrained_refiner_beats_pghi_on_a_held_out_clip():
    """The shipped model on 2 s of a test clip of the fixed LJSpeech split (never used
    to train or select): lower spectral convergence than PGHI and than Griffin-Lim-32."""
    from cnnvocoder.ljspeech_split import split_part
    from dsp.audio import load_audio

    model, config = load_vocoder(PRETRAINED / "model.keras")
    x, _ = load_audio(split_part("test")[0], sr=SR)
    spec = compute_spec(x[:2 * SR], config)
    ours = _sc(spec, invert(spec, "cnn", model=model, config=config))
    assert ours < _sc(spec, invert(spec, "pghi")) - 0.005
    assert ours < _sc(spec, invert(spec, "griffinlim", n_iter=32))
