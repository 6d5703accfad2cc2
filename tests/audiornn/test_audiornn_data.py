"""AudioRNN data: mu-law codes, windows, the code cache, bad folders, baselines."""
import librosa
import numpy as np
import pytest
import soundfile as sf

from audiornn.AudioRNNData import (audio_to_codes, codes_to_audio, decode_codes, encode_codes,
                                   find_wavs, load_cache, load_or_prepare)
from audiornn.baseline import LinearPredictionBaseline, score, unigram
from audiornn.windows import (EvalWindows, TrainWindows, WindowIndex, gather_windows,
                              original_windows, split_train_val)
from dsp.audio import AudioInputError, InputError
from dsp.filters import de_emphasis, pre_emphasis
from tests.audiornn.tones import write_tones

T = 16


# ---------------------------------------------------------------- codes
def test_mulaw_255_matches_librosa_and_round_trips():
    x = np.linspace(-1, 1, 20001)
    codes = encode_codes(x, mu=255)
    assert codes.dtype == np.uint8 and codes.min() == 0 and codes.max() == 255
    ref = librosa.mu_compress(x, mu=255, quantize=True).astype(int) + 128
    assert np.abs(codes.astype(int) - ref).max() <= 1
    all_codes = np.arange(256, dtype=np.uint8)
    # Decoding agrees within one code: librosa's expansion of each code re-encodes
    # to within one of it, and ours compresses back (librosa) within one too.
    lib_x = librosa.mu_expand(all_codes.astype(int) - 128, mu=255, quantize=True)
    assert np.abs(encode_codes(lib_x).astype(int) - all_codes).max() <= 1
    ours = librosa.mu_compress(decode_codes(all_codes), mu=255, quantize=True).astype(int) + 128
    assert np.abs(ours - all_codes).max() <= 1
    for mu in (255, 256):
        assert np.array_equal(encode_codes(decode_codes(all_codes, mu), mu), all_codes)
        err = np.abs(decode_codes(encode_codes(x, mu), mu) - x)
        assert err.max() < 0.035 and err[np.abs(x) < 0.01].max() < 5e-4  # fine near zero


def test_mu256_variant_differs_from_standard():
    x = np.linspace(-1, 1, 1001)
    assert not np.array_equal(encode_codes(x, 255), encode_codes(x, 256))
    with pytest.raises(InputError):
        encode_codes(x, 254)


def test_preemphasis_round_trip_and_codes_pipeline():
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.5, 0.5, 4000)
    assert np.allclose(de_emphasis(pre_emphasis(x, 0.95), 0.95), x, atol=1e-12)
    y = pre_emphasis(x, 0.95)
    assert np.allclose(y[1:], x[1:] - 0.95 * x[:-1]) and y[0] == x[0]
    tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(8000) / 8000)
    back = codes_to_audio(audio_to_codes(tone))
    assert np.sqrt(np.mean((back - tone) ** 2)) < 0.02


# ---------------------------------------------------------------- windows
def test_windows_reproduce_the_original_pairs():
    codes = np.random.default_rng(2).integers(0, 256, 203).astype(np.uint8)
    X0, y0 = original_windows(codes, T)
    index = WindowIndex([0], [len(codes)], T)
    assert len(index) == len(y0) == len(codes) - T
    X, y = gather_windows(codes, index.starts(np.arange(len(index))), T)
    assert X.shape == (len(y0), T, 1) and X.dtype == np.float32
    assert np.array_equal(np.rint(X[..., 0] * 255).astype(np.uint8), X0) and np.array_equal(y, y0)
    # One shuffled epoch visits every window exactly once, in another order.
    seq = TrainWindows(codes, index, batch_size=len(y0))
    seen = seq.window_numbers(0)
    assert sorted(seen) == list(range(len(y0))) and not np.array_equal(seen, np.arange(len(y0)))
    seq.set_epoch(1)
    assert not np.array_equal(seq.window_numbers(0), seen)


def test_input_noise_moves_inputs_within_range_and_keeps_targets_clean():
    codes = np.concatenate([[0, 255], np.random.default_rng(5).integers(0, 256, 400)]).astype(np.uint8)
    index = WindowIndex([0], [len(codes)], T)
    clean, noisy = (TrainWindows(codes, index, batch_size=16, seed=4, input_noise=k) for k in (0, 2))
    X0, y0 = clean[3]
    X1, y1 = noisy[3]
    moved = np.rint(X1 * 255).astype(int) - np.rint(X0 * 255).astype(int)
    assert np.array_equal(y0, y1)                       # targets untouched
    assert moved.min() >= -2 and moved.max() <= 2       # stated range
    assert set(np.unique(moved)) == {-2, -1, 0, 1, 2}   # every offset occurs
    assert X1.min() >= 0.0 and X1.max() <= 1.0          # clipped to the code range
    assert np.array_equal(noisy[3][0], X1)              # same (seed, epoch, step): same noise
    moved_next = np.rint(noisy[4][0] * 255).astype(int) - np.rint(clean[4][0] * 255).astype(int)
    assert not np.array_equal(moved_next, moved)        # fresh noise for every batch


def test_no_training_window_touches_validation():
    lengths = np.array([100, 57, 300, 17, 240])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    codes = np.arange(lengths.sum()) % 256
    train_idx, val_idx = split_train_val(starts, lengths, T, val_fraction=0.2)
    val_ranges = val_idx.covered()
    assert len(val_ranges) == 3  # the 57- and 17-sample files have tails < T + 1
    tails = [(s + n - round(0.2 * n), s + n) for s, n in zip(starts, lengths)]
    seq = TrainWindows(codes, train_idx, batch_size=32, steps_per_epoch=20, seed=3)
    used = np.concatenate([train_idx.starts(seq.window_numbers(k)) for k in range(20)])
    for lo, hi in tails:  # every training window [s, s + T] ends before the tail
        assert not np.any((used + T >= lo) & (used < hi))
    for s, e in val_ranges:
        assert any(lo <= s and e <= hi for lo, hi in tails)
    file_of = np.searchsorted(np.cumsum(lengths), used, side="right")  # never crosses a file
    assert np.all(used + T < starts[file_of] + lengths[file_of])
    ev = EvalWindows(codes, val_idx, batch_size=8, max_windows=10)
    assert sum(len(ev[i][1]) for i in range(len(ev))) == 10


# ---------------------------------------------------------------- data folder
def test_prepare_cache_and_reuse(tmp_path):
    data = write_tones(tmp_path / "wavs" / "sub")  # found recursively
    cache = load_or_prepare(tmp_path / "wavs", tmp_path / "c.npz", sr=8000)
    assert cache.codes.dtype == np.uint8 and len(cache.lengths) == 3
    assert cache.codes.nbytes == 3 * 8000 and list(cache.starts) == [0, 8000, 16000]
    x, _ = sf.read(data / "tone1.wav", dtype="float32")
    assert np.array_equal(cache.file_codes(1), audio_to_codes(x))
    again = load_cache(tmp_path / "c.npz")
    assert again.meta == cache.meta and again.meta["mu"] == 255 and again.meta["preemphasis"] == 0.95
    v256 = load_or_prepare(tmp_path / "wavs", tmp_path / "c.npz", sr=8000, mu=256)  # stale: rebuilt
    assert v256.meta["mu"] == 256 and not np.array_equal(v256.codes, cache.codes)


def test_bad_folders_give_clear_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        find_wavs(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .wav files"):
        find_wavs(tmp_path / "empty")
    (tmp_path / "txt").mkdir()
    (tmp_path / "txt" / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="no .wav files"):
        find_wavs(tmp_path / "txt")
    bad = write_tones(tmp_path / "bad", n_files=1)
    (bad / "broken.wav").write_bytes(b"RIFF\x00\x00not really a wav file")
    with pytest.raises(AudioInputError, match="broken.wav"):
        load_or_prepare(bad, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


# ---------------------------------------------------------------- baselines
def test_linear_prediction_baseline_beats_unigram_on_a_tone():
    tone = 0.5 * np.sin(2 * np.pi * 310 * np.arange(16000) / 8000)
    codes = encode_codes(tone)  # no pre-emphasis: a pure AR(2) signal
    train_idx, val_idx = split_train_val([0], [len(codes)], T, val_fraction=0.25)
    fit = train_idx.starts(np.arange(len(train_idx)))
    val = val_idx.starts(np.arange(len(val_idx)))
    lp = LinearPredictionBaseline(order=4).fit(codes, fit, T)
    probs, y = lp.probabilities(codes, val, T)
    assert np.allclose(probs.sum(axis=1), 1.0)
    acc, bits = score(probs, y)
    uni_acc, uni_bits = score(np.broadcast_to(unigram(codes[:12000]), probs.shape), y)
    assert acc > 0.5 and bits < 2.0 and uni_bits > 5.0 and uni_acc < 0.1, (acc, bits, uni_acc, uni_bits)
