"""python -m wavenet.vocode on folders: both methods, bad inputs, model folders; Griffin-Lim from a mel."""
import numpy as np
import pytest
import soundfile as sf

from dsp.audio import write_wav
from dsp.metrics import spectral_convergence
from dsp.spectral import stft
from tests.wavenet.test_wavenet_model import tiny_cfg
from wavenet import vocode as vocode_cli
from wavenet.features import griffin_lim_from_mel, log_mel, mel_postfilter
from wavenet.model import WaveNetConfig, build_wavenet, save_vocoder

SR = 22050


def tone(seconds, sr=SR, f0=220.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))).astype("float32")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny untrained vocoder at 22.05 kHz, hop 256, saved as a model folder."""
    folder = tmp_path_factory.mktemp("model")
    cfg = tiny_cfg(hop=256, upsample_scales=[16, 16])
    save_vocoder(build_wavenet(cfg), cfg, folder / "vocoder.keras")
    return folder


@pytest.fixture
def wavs(tmp_path):
    """Two recordings: mono at the model's rate, stereo at 16 kHz."""
    folder = tmp_path / "wavs"
    folder.mkdir()
    write_wav(folder / "a.wav", tone(0.1), SR)
    x16 = tone(0.15, sr=16000)
    sf.write(folder / "b.flac", np.stack([x16, 0.5 * x16], axis=1), 16000)
    (folder / "notes.txt").write_text("not audio, ignored")
    return folder


def expected_samples(seconds, sr):
    n = int(np.ceil(int(seconds * sr) * SR / sr))   # after resampling to the model's rate
    return n // 256 * 256


def run(*args):
    return vocode_cli.main([str(a) for a in args])


@pytest.mark.parametrize("method", ["wavenet", "wavenet_pf", "noise_pf", "griffinlim"])
def test_input_dir_writes_one_wav_per_input(model_dir, wavs, tmp_path, method):
    out = tmp_path / "out"
    assert run("--model_dir", model_dir, "--input_dir", wavs, "--out_dir", out, "--method", method) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "b.wav"]
    for name, seconds, sr in [("a.wav", 0.1, SR), ("b.wav", 0.15, 16000)]:
        y, rate = sf.read(out / name)
        assert rate == SR and y.ndim == 1 and len(y) == expected_samples(seconds, sr)
        assert np.all(np.isfinite(y))


def test_griffin_lim_from_the_mel_of_a_tone_reproduces_its_spectrum():
    cfg = WaveNetConfig.default()
    x = tone(1.0)
    mel = log_mel(x, cfg)
    y = griffin_lim_from_mel(mel, cfg, n_iter=32)
    assert len(y) == len(mel) * cfg.hop
    ref, est = np.abs(stft(x[:len(y)], cfg.n_fft, cfg.hop)), np.abs(stft(y, cfg.n_fft, cfg.hop))
    assert spectral_convergence(ref, est) < 0.35
    freqs = np.fft.rfftfreq(len(y), 1 / SR)
    assert abs(freqs[np.argmax(np.abs(np.fft.rfft(y)))] - 220.0) < 15.0   # within the 220 Hz band
    assert np.mean(np.abs(log_mel(y, cfg) - mel)) < 0.05


@pytest.mark.parametrize("bad", ["corrupt", "silent", "short"])
def test_bad_recording_is_refused_or_skipped(model_dir, wavs, tmp_path, capsys, bad):
    path = wavs / f"{bad}.wav"
    if bad == "corrupt":
        path.write_bytes(b"RIFF garbage")
    else:
        write_wav(path, np.zeros(4000) if bad == "silent" else tone(0.02), SR)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        run("--model_dir", model_dir, "--input_dir", wavs, "--out_dir", out, "--method", "griffinlim")
    assert exc.value.code == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and f"{bad}.wav" in lines[0]
    assert not out.exists()
    assert run("--model_dir", model_dir, "--input_dir", wavs, "--out_dir", out, "--method", "griffinlim",
               "--skip_bad") == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "b.wav"]
    assert f"skipped {path}" in capsys.readouterr().err


def test_model_dir_with_a_missing_or_mismatched_piece(model_dir, wavs, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "vocoder.keras").write_bytes((model_dir / "vocoder.keras").read_bytes())
    for args in (["--model_dir", broken], ["--model_dir", tmp_path / "nowhere"]):
        with pytest.raises(SystemExit):
            run(*args, "--input_dir", wavs, "--out_dir", tmp_path / "out")
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 2 and "vocoder.json" in errors[0] and "nowhere" in errors[1]
    # a JSON describing another network (40 mel bands) than the weights (80)
    cfg = tiny_cfg(hop=256, upsample_scales=[16, 16], n_mels=40)
    save_vocoder(build_wavenet(tiny_cfg(hop=256, upsample_scales=[16, 16])), cfg, broken / "vocoder.keras")
    with pytest.raises(SystemExit):
        run("--model_dir", broken, "--input_dir", wavs, "--out_dir", tmp_path / "out")
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "does not match" in errors[0] and "vocoder.keras" in errors[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags", [["--prob_floor", "1.5"], ["--temperature", "-1"], ["--batch_size", "0"],
                                   ["--postfilter_iters", "0"], ["--postfilter_db", "-3"]])
def test_out_of_range_synthesis_flags_are_refused_before_anything_is_written(model_dir, wavs, tmp_path, capsys,
                                                                            flags):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        run("--model_dir", model_dir, "--input_dir", wavs, "--out_dir", out, *flags)
    assert exc.value.code == 1
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and flags[0] in errors[0]
    assert not out.exists()


def test_mel_postfilter_restores_a_quieter_copy_from_its_log_mel():
    """The vocoder's wrapper reads the normalised log-mel: a copy 8 dB too quiet comes back."""
    cfg = WaveNetConfig(sample_rate=16000, n_fft=800, hop=200, upsample_scales=[10, 20], mel_fmin=50.0, mel_fmax=7600.0)
    x = tone(1.0, sr=16000, f0=180.0)
    mel = log_mel(x, cfg)
    x = x[:len(mel) * cfg.hop]
    out = mel_postfilter(10 ** (-8 / 20) * x, mel, cfg)
    assert len(out) == len(x)
    assert np.sqrt(np.mean((out - x) ** 2)) < 0.03 * np.sqrt(np.mean(x ** 2))
