"""LPC noise shaping: whiten/shape are exact inverses, the mel's LPC whitens a known AR signal and finds
its resonances, silent frames stay stable, a noise-shaped vocoder trains and vocodes, old configs load."""
import dataclasses
import json

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import find_peaks, lfilter, welch

from dsp.audio import write_wav
from dsp.lpc import is_minimum_phase, lpc_envelope
from dsp.mulaw import mu_law_encode
from dsp.presets import parse_args
from tests.wavenet.test_wavenet_model import FIXTURES, _randomise, tiny_cfg
from wavenet import PRESET_DIR, noise_shaping, training
from wavenet import train as train_cli
from wavenet import vocode as vocode_cli
from wavenet.features import log_mel
from wavenet.generation import FastWaveNetGenerator, naive_generate
from wavenet.model import WaveNetConfig, build_wavenet, load_vocoder
from wavenet.noise_shaping import lpc_from_mel, residual_of, shape, shape_batch, waveform_of, whiten

SR = 16000
RESONANCES = (700.0, 2500.0)   # Hz, pole radii 0.97 and 0.95


def random_stable_lpc(rng, frames, order):
    """``[frames, order+1]`` minimum-phase A(z): conjugate pole pairs at radius < 0.95, new ones every frame."""
    a = np.empty((frames, order + 1))
    for f in range(frames):
        r, w = rng.uniform(0.0, 0.95, order // 2), rng.uniform(0.0, np.pi, order // 2)
        poles = np.concatenate([r * np.exp(1j * w), r * np.exp(-1j * w)])
        a[f] = np.real(np.poly(poles))
    return a


def reference_whiten(x, a, hop):
    """e[n] = sum_k a_f[k] x[n-k], f = n // hop, by a plain loop."""
    p = a.shape[1] - 1
    return np.array([sum(a[n // hop, k] * x[n - k] for k in range(p + 1) if n >= k) for n in range(len(x))])


def reference_shape(e, a, hop):
    """x[n] = e[n] - sum_{k>=1} a_f[k] x[n-k], by a plain direct-form loop."""
    p, x = a.shape[1] - 1, np.zeros(len(e))
    for n in range(len(e)):
        x[n] = e[n] - sum(a[n // hop, k] * x[n - k] for k in range(1, p + 1) if n >= k)
    return x


@pytest.mark.parametrize("hop,order,length", [(1, 2, 50), (7, 16, 7 * 30), (16, 16, 16 * 20 - 5),
                                              (80, 10, 80 * 12), (256, 16, 256 * 6)])
def test_shape_inverts_whiten_with_per_frame_filters(hop, order, length):
    rng = np.random.default_rng(hop + order)
    frames = -(-length // hop)
    a = random_stable_lpc(rng, frames, order)
    assert np.all(is_minimum_phase(a))
    x = rng.uniform(-1, 1, length)
    e = whiten(x, a, hop)
    assert e.shape == (length,)
    np.testing.assert_allclose(shape(e, a, hop), x, atol=1e-6, rtol=0)
    # both against a plain loop on the first samples (the per-block state handling included)
    n = min(length, 3 * hop + 5, 150)
    np.testing.assert_allclose(e[:n], reference_whiten(x[:n], a, hop), atol=1e-12)
    np.testing.assert_allclose(shape(e, a, hop)[:n], reference_shape(e[:n], a, hop), atol=1e-9)
    # a frame's filter acts on exactly its block: changing frame 1 leaves block 0 alone
    if frames > 2:
        b = a.copy()
        b[1] = random_stable_lpc(rng, 1, order)[0]
        e2 = whiten(x, b, hop)
        np.testing.assert_array_equal(e2[:hop], e[:hop])
        assert not np.allclose(e2[hop:2 * hop], e[hop:2 * hop])
    with pytest.raises(ValueError, match="at most"):
        whiten(np.zeros(frames * hop + 1), a, hop)


def _ar_signal(seconds=4.0, seed=0):
    poles = []
    for f, r in zip(RESONANCES, (0.97, 0.95)):
        poles += [r * np.exp(2j * np.pi * f / SR), r * np.exp(-2j * np.pi * f / SR)]
    x = lfilter([1.0], np.real(np.poly(poles)), np.random.default_rng(seed).standard_normal(int(seconds * SR)))
    return 0.3 * x / np.abs(x).max()


def _flatness(x):
    """Spectral flatness (geometric / arithmetic mean) of the long-term power spectrum (Welch, DC and Nyquist off)."""
    _, p = welch(x, SR, nperseg=1024)
    p = p[1:-1]
    return float(np.exp(np.mean(np.log(p))) / np.mean(p))


def test_residual_of_a_known_ar_signal_is_flat_and_the_envelope_finds_its_resonances():
    cfg = WaveNetConfig(sample_rate=SR)           # hop 256, n_fft 1024, 80 bands 125-7600 Hz
    x = _ar_signal()
    mel = log_mel(x, cfg)
    x = x[:len(mel) * cfg.hop]
    a = lpc_from_mel(mel, cfg)
    assert a.shape == (len(mel), 17) and a.dtype == np.float64 and np.all(a[:, 0] == 1)
    assert np.all(is_minimum_phase(a))
    e = whiten(x, a, cfg.hop)
    # two sharp resonances: flatness ~0.005; the bandwidth-expanded (gamma 0.9) residual ~0.6
    assert _flatness(x) < 0.01
    assert _flatness(e) > 20 * _flatness(x), (_flatness(x), _flatness(e))
    assert _flatness(e) > 0.3
    # without bandwidth expansion the long-term LPC envelope peaks at the true resonances
    a1 = lpc_from_mel(mel, dataclasses.replace(cfg, lpc_gamma=1.0))
    env = np.mean(lpc_envelope(a1, 4096) ** 2, axis=0)
    freqs = np.fft.rfftfreq(4096, 1 / SR)
    peaks, _ = find_peaks(env)
    top = np.sort(freqs[peaks[np.argsort(env[peaks])[-2:]]])
    np.testing.assert_allclose(top, RESONANCES, atol=100.0)
    # the residual of the true all-pole inverse is white; ours whitens less (gamma) but is still a
    # strong attenuation of the shaped signal's power
    assert np.std(e) < 0.25 * np.std(x)


def test_silent_and_floor_frames_give_a_valid_filter(monkeypatch):
    cfg = WaveNetConfig(sample_rate=SR)
    mel = np.concatenate([np.zeros((3, 80)), log_mel(np.zeros(4 * cfg.hop), cfg), np.full((2, 80), 0.5),
                          log_mel(1e-6 * _ar_signal(0.1), cfg)]).astype(np.float32)
    a = lpc_from_mel(mel, cfg)
    assert a.shape == (len(mel), 17) and np.all(np.isfinite(a)) and np.all(a[:, 0] == 1)
    assert np.all(is_minimum_phase(a))
    x = np.random.default_rng(0).uniform(-0.5, 0.5, len(mel) * cfg.hop)
    np.testing.assert_allclose(shape(whiten(x, a, cfg.hop), a, cfg.hop), x, atol=1e-6)
    # a flat mel (no envelope) whitens nothing much: A(z) close to 1
    assert np.abs(a[7:9, 1:]).max() < 0.3
    # a NaN frame and an unstable fit fall back to A(z) = 1; the other frames keep theirs
    bad = mel[:4].copy()
    bad[1, 5] = np.nan
    np.testing.assert_array_equal(lpc_from_mel(bad, cfg)[1], np.eye(17)[0])
    real_fit = noise_shaping.lpc_from_power

    def unstable_second_frame(power, order):
        a, err = real_fit(power, order)
        a[1] = np.eye(order + 1)[0] - 1.5 * np.eye(order + 1)[1]   # zero at z = 1.5, 1.35 after gamma
        return a, err

    monkeypatch.setattr(noise_shaping, "lpc_from_power", unstable_second_frame)
    got = lpc_from_mel(mel[:4], cfg)
    np.testing.assert_array_equal(got[1], np.eye(17)[0])
    np.testing.assert_allclose(got[[0, 2, 3]], a[[0, 2, 3]])


def test_config_keys_flags_and_legacy_configs(capsys):
    legacy = {k: v for k, v in WaveNetConfig().to_dict().items() if k not in ("noise_shaping", "lpc_order",
                                                                              "lpc_gamma")}
    cfg = WaveNetConfig.from_dict(legacy)
    assert (cfg.noise_shaping, cfg.lpc_order, cfg.lpc_gamma) == (False, 16, 0.9)
    on = WaveNetConfig(noise_shaping=True, lpc_order=12, lpc_gamma=0.8)
    assert WaveNetConfig.from_dict(json.loads(json.dumps(on.to_dict()))) == on
    with pytest.raises(ValueError, match="lpc_gamma"):
        WaveNetConfig(lpc_gamma=1.5)
    args = parse_args(train_cli.build_parser(), PRESET_DIR, ["--noise_shaping", "--lpc_order", "12"])
    cfg = training.make_config(args)
    assert (cfg.noise_shaping, cfg.lpc_order, cfg.lpc_gamma) == (True, 12, 0.9)
    assert training.make_config(parse_args(train_cli.build_parser(), PRESET_DIR, [])).noise_shaping is False
    with pytest.raises(SystemExit):
        train_cli.main(["--lpc_gamma", "0", "--epochs", "1"])
    assert "--lpc_gamma must be in (0, 1]" in capsys.readouterr().err


def test_legacy_vocoder_checkpoint_loads_without_noise_shaping():
    meta = json.loads((FIXTURES / "legacy_vocoder.json").read_text())
    assert "noise_shaping" not in meta["config"]
    _, cfg = load_vocoder(FIXTURES / "legacy_vocoder.keras")
    assert cfg.noise_shaping is False


def test_training_windows_are_the_residual(tiny_corpus):
    plain = WaveNetConfig.default(n_layers=4, n_stacks=2, sample_rate=SR)
    shaped = dataclasses.replace(plain, noise_shaping=True)
    files = training.list_speech_files(tiny_corpus)[:2]
    utts = training.load_utterances(files, plain, min_frames=3, progress=False)
    res = training.load_utterances(files, shaped, min_frames=3, progress=False)
    for (wav, mel, _), (e, mel_e, _) in zip(utts, res):
        np.testing.assert_array_equal(mel_e, mel)                      # the conditioning is unchanged
        np.testing.assert_allclose(e, residual_of(wav, mel, shaped), atol=1e-7)
        assert np.std(e) < 0.6 * np.std(wav)                           # whitened speech-like audio
        np.testing.assert_allclose(waveform_of(e, mel, shaped), wav, atol=1e-4)
    x, y = training.WindowDataset(res, shaped, batch_size=2, window_frames=2, steps=1, seed=1)[0]
    for b in range(2):   # target = mu-law(residual) of the window whose mel was cut
        hits = [(e, f) for e, mel, _ in res for f in range(len(mel) - 1) if np.array_equal(mel[f:f + 2], x["mel"][b])]
        assert hits
        e, f = hits[0]
        np.testing.assert_array_equal(y[b], mu_law_encode(e[f * 256:(f + 2) * 256]))


def test_generation_shapes_the_generated_residual():
    cfg = tiny_cfg()
    model = build_wavenet(cfg)
    _randomise(model, scale=0.3)
    mel = np.random.default_rng(1).uniform(0, 1, (2, 4, 80)).astype("float32")
    residual = FastWaveNetGenerator(model, cfg).generate(mel, seed=3, progress=False)
    ns = dataclasses.replace(cfg, noise_shaping=True)
    wav = FastWaveNetGenerator(model, ns).generate(mel, seed=3, progress=False)
    assert wav.shape == (2, 4 * cfg.hop) and wav.dtype == np.float32 and np.abs(wav).max() <= 1.0
    for b in range(2):
        a = lpc_from_mel(mel[b], ns)
        np.testing.assert_allclose(wav[b], np.clip(shape(residual[b], a, cfg.hop), -1, 1), atol=1e-6)
        assert not np.allclose(wav[b], residual[b], atol=1e-3)
    # the naive baseline shapes the same way (causal: its first samples match)
    greedy = FastWaveNetGenerator(model, ns).generate(mel[:1], temperature=0.0, progress=False)[0]
    naive = naive_generate(model, ns, mel[:1], n_samples=40, temperature=0.0, progress=False)[0]
    np.testing.assert_allclose(naive, greedy[:40], atol=1e-4)
    np.testing.assert_allclose(shape_batch(residual[:, :40], mel, ns), wav[:, :40], atol=1e-6)


def test_noise_shaped_vocoder_trains_and_vocodes(tmp_path, tiny_corpus):
    out = tmp_path / "run"
    assert train_cli.main(["--data_dir", str(tiny_corpus), "--out_dir", str(out), "--sample_rate", str(SR),
                           "--noise_shaping", "--lpc_order", "12", "--lpc_gamma", "0.85", "--epochs", "1",
                           "--n_layers", "4", "--n_stacks", "2", "--residual_channels", "8", "--steps_per_epoch",
                           "2", "--batch_size", "2", "--window_frames", "2", "--sample_frames", "3",
                           "--max_files", "2", "--val_fraction", "0"]) == 0
    _, cfg = load_vocoder(out / "vocoder.keras")
    assert (cfg.noise_shaping, cfg.lpc_order, cfg.lpc_gamma) == (True, 12, 0.85)
    assert json.loads((out / "config.json").read_text())["noise_shaping"] is True
    sample, sr = sf.read(out / "samples" / "epoch_0001.wav")
    assert sr == SR and len(sample) == 3 * 256
    inp = tmp_path / "in.wav"
    write_wav(inp, 0.3 * np.sin(2 * np.pi * 200 * np.arange(int(0.3 * SR)) / SR), SR)
    assert vocode_cli.main(["--model", str(out / "vocoder.keras"), "--input", str(inp),
                            "--out_dir", str(tmp_path / "voc")]) == 0
    y, sr = sf.read(tmp_path / "voc" / "in.wav")
    assert sr == SR and len(y) == int(0.3 * SR) // 256 * 256 and np.all(np.isfinite(y))
