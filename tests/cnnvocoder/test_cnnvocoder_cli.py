"""CNN vocoder command lines on their happy path: gen_spec (a recording -> its spectrograms)
then synthesis by every method (a spectrogram -> a wav), in-process through main(argv)."""
import json

import keras
import numpy as np
import pytest
import soundfile as sf

from cnnvocoder import gen_spec, synthesis
from cnnvocoder.config import make_config
from cnnvocoder.model import build_model
from dsp.audio import write_wav

SR = 22050
TONE_HZ = 1000.0
TINY = dict(prenet_channels=[2, 2], upsample_channels=[4] * 8, postnet_blocks=1,
            postnet_channels=4)


@pytest.fixture(scope="module")
def spectrogram(tmp_path_factory):
    """gen_spec on 0.5 s of a quiet 1 kHz tone recorded at 16 kHz: (npz path, its arrays,
    the number of 22.05 kHz samples)."""
    root = tmp_path_factory.mktemp("cnnvocoder_cli")
    t = np.arange(8000) / 16000
    write_wav(root / "tone16k.wav", 0.02 * np.sin(2 * np.pi * TONE_HZ * t), 16000)
    out = root / "specs" / "tone.npz"
    gen_spec.main(["-i", str(root / "tone16k.wav"), "-o", str(out)])
    with np.load(out) as d:
        arrays = {k: d[k] for k in d.files}
    return out, arrays


def _dominant_hz(x, sr=SR):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spectrum) * sr / len(x)


def test_gen_spec_writes_the_spectrograms_of_the_resampled_recording(spectrogram, capsys):
    """The .npz holds spec [frames, 1025] and mel [frames, 80] in [0, 1] of the recording
    resampled to 22.05 kHz (frames = 1 + samples // 256), the tone's bin is the loudest, and
    the STFT settings it was made with are stored beside them."""
    _, d = spectrogram
    assert sorted(d) == ["hop_length", "mel", "min_level_db", "n_fft", "n_samples", "ref_level_db",
                         "spec", "sr", "win_length"]  # the analysis settings travel with the arrays
    assert (int(d["n_fft"]), int(d["win_length"]), int(d["hop_length"])) == (2048, 1024, 256)
    assert int(d["sr"]) == SR and int(d["n_samples"]) == 11025  # 0.5 s at 22.05 kHz
    frames = 1 + 11025 // 256
    assert d["spec"].shape == (frames, 1025) and d["mel"].shape == (frames, 80)
    for key in ("spec", "mel"):
        assert d[key].dtype == np.float32 and 0 <= d[key].min() and d[key].max() <= 1
    middle = d["spec"][frames // 2]
    assert np.argmax(middle) == round(TONE_HZ / SR * 2048)  # bin 93 of 2048-point FFTs
    assert middle.max() < 1.0  # quiet: not clipped


@pytest.mark.parametrize("method", ["pghi", "griffinlim"])
def test_synthesis_cli_inverts_to_the_tone(spectrogram, method, tmp_path, capsys):
    """Griffin-Lim and PGHI: a 22.05 kHz wav of (frames - 1) x 256 samples whose dominant
    frequency is the recorded tone's."""
    npz, d = spectrogram
    out = tmp_path / f"{method}.wav"
    synthesis.main(["--method", method, "--input", str(npz), "--output", str(out), "--n_iter", "16"])
    assert f"{method}: " in capsys.readouterr().out
    y, sr = sf.read(out)
    assert sr == SR and y.shape == ((len(d["spec"]) - 1) * 256,)
    assert abs(_dominant_hz(y) - TONE_HZ) < 5.0
    assert 0.005 < np.max(np.abs(y)) < 0.1  # about the recording's level (0.02)


def test_synthesis_cli_with_a_cnn_checkpoint(spectrogram, tmp_path, capsys):
    """--method cnn reads a (tiny, untrained) model and the configuration saved beside it: frames x 256
    samples at the configuration's rate, finite, within the softsign's (-1, 1)."""
    npz, d = spectrogram
    keras.utils.set_random_seed(0)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    build_model(**TINY).save(model_dir / "model.keras")
    (model_dir / "model.json").write_text(json.dumps(make_config(**TINY)))
    out = tmp_path / "cnn.wav"
    synthesis.main(["--method", "cnn", "--model", str(model_dir / "model.keras"), "--input", str(npz),
                    "--output", str(out)])
    assert "cnn: " in capsys.readouterr().out
    y, sr = sf.read(out)
    assert sr == SR and y.shape == (len(d["spec"]) * 256,)
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) < 1.0
