"""Separation pipeline, numpy side: mixing rule, splits, features, block stitching, metrics."""
import json

import numpy as np
import pytest
import soundfile as sf
from pesq import pesq
from pystoi import stoi as pystoi_stoi

from corpus.noise import make_noises
from corpus.readers import ESC50_ENVIRONMENTAL_CLASSES, read_esc50, read_ljspeech
from corpus.synth import make_corpus
from dsp.audio import InputError, load_audio, resample
from dsp.metrics import sdr, si_sdr, stoi
from dsp.spectral import mel_filterbank
from separation import features as F
from separation import mixing
from separation.blocks import block_starts, cut_blocks, stitch, stitch_plan
from separation.data import CropDataset, load_split
from separation.evaluate import score_pair
from separation.make_mixtures import make_mixtures
from separation.separate import ideal_binary_mask
from wavenet.features import log_mel
from wavenet.model import WaveNetConfig

SR = 22050


def _tone(f, seconds, sr=SR, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


# ---------------------------------------------------------------- mixing
def test_paper_mixing_rule_peaks_and_sum():
    rng = np.random.default_rng(0)
    speech = _tone(220, 1.0, amp=0.2) * np.hanning(SR).astype(np.float32)
    noise = rng.uniform(-3, 3, 5000).astype(np.float32)  # shorter than the speech, peak 3
    m, s, n = mixing.mix_paper(speech, noise)
    assert m.shape == s.shape == n.shape == speech.shape
    assert np.max(np.abs(m)) == pytest.approx(0.999, abs=1e-6)
    np.testing.assert_allclose(m, s + n, atol=1e-6)
    # before the common rescaling: speech peak 0.999, noise peak 0.5 -> the ratio survives
    assert np.max(np.abs(s)) / np.max(np.abs(n)) == pytest.approx(0.999 / 0.5, rel=1e-5)
    # speech is a scaled copy of the input speech
    g = np.dot(s, speech) / np.dot(speech, speech)
    np.testing.assert_allclose(s, g * speech, atol=1e-6)


def test_noise_tiled_from_its_start():
    noise = np.arange(1, 8, dtype=np.float32)
    t = mixing.tile_to_length(noise, 17)
    np.testing.assert_array_equal(t, np.concatenate([noise, noise, noise[:3]]))
    m, s, n = mixing.mix_paper(_tone(300, 0.1), noise)
    # the noise in the mixture is the tiled clip up to one gain
    tiled = mixing.tile_to_length(noise, len(m))
    g = n[0] / tiled[0]
    np.testing.assert_allclose(n, g * tiled, rtol=1e-5, atol=1e-7)


def test_snr_option():
    rng = np.random.default_rng(1)
    speech = _tone(200, 0.5)
    noise = rng.normal(size=3000).astype(np.float32)
    for snr in (-5.0, 0.0, 10.0):
        m, s, n = mixing.mix_snr(speech, noise, snr)
        assert 10 * np.log10(np.mean(s.astype(np.float64) ** 2) / np.mean(n.astype(np.float64) ** 2)) == \
            pytest.approx(snr, abs=1e-3)
        assert np.max(np.abs(m)) == pytest.approx(0.999, abs=1e-6)


def test_silent_speech_is_an_error():
    with pytest.raises(InputError):
        mixing.mix_paper(np.zeros(100, np.float32), np.ones(10, np.float32))


def test_split_is_reproducible_and_complete():
    items = [f"u{i}" for i in range(32)]
    a = mixing.split_items(items, (0.8, 0.1, 0.1), seed=3)
    b = mixing.split_items(items, (0.8, 0.1, 0.1), seed=3)
    c = mixing.split_items(items, (0.8, 0.1, 0.1), seed=4)
    assert a == b and a != c
    assert sorted(sum(a, [])) == sorted(items)
    assert [len(p) for p in a] == [26, 3, 3]
    assert all(len(p) >= 1 for p in mixing.split_items(items[:3], (0.8, 0.1, 0.1), 0))


def test_list_round_trip(tmp_path):
    rows = [{"id": "a", "speech": "s.wav", "noise": "n.wav", "snr_db": None},
            {"id": "b", "speech": "s2.wav", "noise": "n2.wav", "snr_db": 5.0}]
    mixing.write_list(tmp_path / "test.csv", rows)
    assert mixing.read_list(tmp_path / "test.csv") == rows
    with pytest.raises(InputError, match="not found"):
        mixing.read_list(tmp_path / "missing.csv")


# ---------------------------------------------------------------- features
@pytest.mark.parametrize("n", [SR // 2, SR // 2 + 255, 256 * 64])
def test_feature_shapes_ranges_and_frames(n):
    x = np.random.default_rng(0).normal(scale=0.1, size=n).astype(np.float32)
    feats = F.mixture_features(x)
    T = 1 + n // 256
    assert feats["linear"].shape == (T, 512) and feats["mel"].shape == (T, 80)
    for v in feats.values():
        assert v.dtype == np.float32 and v.min() >= 0.0 and v.max() <= 1.0
    assert F.n_frames(n) == T


def test_linear_features_levels_and_inversion():
    x = _tone(1000.0, 0.5, amp=0.5)
    lin = F.linear_features(x)
    mag = np.abs(F.complex_stft(x))
    # peak bin at 1000 Hz (bin spacing sr/1024)
    assert abs(int(np.argmax(lin[10])) - round(1000 * 1024 / SR)) <= 1
    expected = np.clip((20 * np.log10(np.maximum(1e-5, mag[:, :512])) - 30 + 80) / 80, 0, 1)
    np.testing.assert_allclose(lin, expected, atol=1e-5)
    back = F.linear_to_magnitude(lin)
    assert back.shape == mag.shape
    ok = (lin > 0) & (lin < 1)
    np.testing.assert_allclose(back[:, :512][ok], mag[:, :512][ok], rtol=1e-3)


def test_mel_features_match_definition():
    x = _tone(440.0, 0.3) + _tone(2500.0, 0.3, amp=0.1)
    mel = F.mel_features(x)
    fb = mel_filterbank(SR, 1024, 80, 125.0, 7600.0)
    ref = np.abs(F.complex_stft(x)) @ fb.T
    expected = np.clip((20 * np.log10(np.maximum(1e-5, ref)) - 20 + 100) / 100, 0, 1)
    np.testing.assert_allclose(mel, expected, atol=1e-5)


def test_encoder_target_is_the_vocoder_conditioning():
    """The proposed encoder predicts exactly the mel the default vocoder is trained on."""
    x = _tone(220.0, 0.5) + _tone(3100.0, 0.5, amp=0.05)
    np.testing.assert_array_equal(F.mel_features(x), log_mel(x, WaveNetConfig(), whole_hops=False))


# ---------------------------------------------------------------- stitching
@pytest.mark.parametrize("T", [1, 5, 63, 64, 65, 127, 128, 129, 300])
def test_block_stitching_covers_every_frame_once(T):
    block = 64
    starts = block_starts(T, block)
    assert starts[0] == 0
    if T >= block:
        assert starts[-1] == T - block  # last block aligned to the end
    counts = np.zeros(max(T, block), int)
    for s, lo, hi in stitch_plan(max(T, block), block):
        counts[s + lo:s + hi] += 1
    assert np.all(counts == 1)
    x = np.arange(T * 3, dtype=np.float32).reshape(T, 3)
    blocks, n = cut_blocks(x, block)
    assert blocks.shape[1:] == (block, 3) and n == T
    np.testing.assert_array_equal(stitch(blocks, n), x)
    # a per-block transform that marks its block: each frame takes exactly one block's value
    marked = blocks + 1000 * np.arange(len(blocks))[:, None, None]
    out = stitch(marked, n)
    owner = (out - x) // 1000
    assert set(np.unique(owner)) == set(range(len(blocks))) or T <= block


# ---------------------------------------------------------------- metrics
def test_si_sdr_and_sdr_on_known_signals():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=16000)
    noise = rng.normal(size=16000)
    noise -= noise.mean()
    noise -= ref * np.dot(noise, ref) / np.dot(ref, ref)  # orthogonal: exact SNR
    for snr in (0.0, 10.0):
        est = ref + noise * np.sqrt(np.sum(ref ** 2) / np.sum(noise ** 2) / 10 ** (snr / 10))
        assert si_sdr(ref, est) == pytest.approx(snr, abs=0.05)
        assert sdr(ref, est) == pytest.approx(snr, abs=0.3)  # the projection absorbs a little noise
    assert si_sdr(ref, 0.3 * ref) > 100  # scale invariance
    filt = np.convolve(ref, [0.6, 0.3, -0.2])[:16000]  # a short filter is allowed distortion for SDR
    assert sdr(ref, filt) > 40 and si_sdr(ref, filt) < 10


def test_pesq_and_stoi_wrappers_agree_with_packages():
    rng = np.random.default_rng(0)
    t = np.arange(int(2.0 * SR)) / SR
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    ref = (env * (np.sin(2 * np.pi * 150 * t) + 0.5 * np.sin(2 * np.pi * 450 * t)
                  + 0.3 * np.sin(2 * np.pi * 1200 * t))).astype(np.float32) * 0.3
    est = (ref + 0.05 * rng.normal(size=len(ref))).astype(np.float32)
    s = score_pair(ref, est, SR)
    r16, e16 = resample(ref, SR, 16000), resample(est, SR, 16000)
    assert s["pesq"] == pytest.approx(pesq(16000, r16.astype(np.float64), e16.astype(np.float64), "nb"), abs=1e-6)
    assert s["stoi"] == pytest.approx(pystoi_stoi(ref, est, SR), abs=1e-6)


# ---------------------------------------------------------------- stage 01 end to end
def test_make_mixtures_writes_reproducible_lists(tmp_path):
    make_corpus(tmp_path / "speech", n_utterances=5, seconds_per_utt=(0.6, 0.9), sr=SR, seed=0)
    make_noises(tmp_path / "noise", sr=SR, seconds=0.7, seed=0, n_per_kind=1,
                categories=("pink_noise", "babble", "mains_hum"))
    kw = dict(categories="all", min_noise_seconds=0.5, noise_test_fraction=0.34, train_mixes=2,
              seed=7, progress=False)
    split = make_mixtures(tmp_path / "speech", [tmp_path / "noise"], tmp_path / "mix", **kw)
    assert {k: len(v) for k, v in split["speech"].items()} == {"train": 3, "val": 1, "test": 1}
    assert len(split["noise"]["test"]) == 1 and len(split["noise"]["train"]) == 2
    rows = mixing.read_list(tmp_path / "mix" / "train.csv")
    assert len(rows) == 6 and all(r["noise"] in split["noise"]["train"] for r in rows)
    test_rows = mixing.read_list(tmp_path / "mix" / "test.csv")
    assert test_rows[0]["noise"] == split["noise"]["test"][0]
    for r in rows[:2]:
        m, _ = sf.read(tmp_path / "mix" / "train" / "mix" / f"{r['id']}.wav")
        s, _ = sf.read(tmp_path / "mix" / "train" / "clean" / f"{r['id']}.wav")
        n, _ = sf.read(tmp_path / "mix" / "train" / "noise" / f"{r['id']}.wav")
        np.testing.assert_allclose(m, s + n, atol=1e-6)
        assert np.max(np.abs(m)) == pytest.approx(0.999, abs=1e-5)
    # same seed -> same split and lists
    again = make_mixtures(tmp_path / "speech", [tmp_path / "noise"], tmp_path / "mix2", **kw)
    assert again["speech"] == split["speech"] and again["noise"] == split["noise"]
    assert mixing.read_list(tmp_path / "mix2" / "test.csv") == test_rows
    assert json.loads((tmp_path / "mix" / "split.json").read_text())["seed"] == 7
    # training crops
    items = load_split(tmp_path / "mix", "train", "proposed", progress=False)
    x, y = CropDataset(items, frames=64, batch_size=3, steps=2, seed=0)[0]
    assert x["linear"].shape == (3, 64, 512) and x["mel"].shape == (3, 64, 80) and y.shape == (3, 64, 80)
    assert 0 <= y.min() and y.max() <= 1
    with pytest.raises(InputError, match="noise clips"):
        make_mixtures(tmp_path / "speech", [tmp_path / "noise"], tmp_path / "mix3",
                      **dict(kw, min_noise_seconds=5.0))


def test_oracle_mask_improves_real_mixtures(realdata):
    """Real LJSpeech clip + real ESC-50 noise mixed by the paper's rule: IBM-gt beats the mixture."""
    _, wav, _ = read_ljspeech(realdata / "ljspeech_sample")[1]
    path, _, _ = read_esc50(realdata / "noise" / "esc50_sample", ESC50_ENVIRONMENTAL_CLASSES, 4.5)[0]
    speech, _ = load_audio(wav, sr=SR)
    noise, _ = load_audio(path, sr=SR)
    m, s, _ = mixing.mix_paper(speech[: 2 * SR], noise)
    est = ideal_binary_mask(m, s)
    assert si_sdr(s, est) > si_sdr(s, m) + 3
    assert stoi(s, est, SR) > stoi(s, m, SR)
