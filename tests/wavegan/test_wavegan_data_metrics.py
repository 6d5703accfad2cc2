"""wavegan.data and wavegan.metrics: the speaker split, padding, bad files, the scores (numpy only)."""
import json

import numpy as np
import pytest
import soundfile as sf

from dsp.audio import InputError
from wavegan import metrics
from wavegan.data import fit_length, load_part, load_split, main, prepare

SPEAKERS = ("ann", "bob", "cat", "dan")


def _tone(n, freq, sr=8000):
    return 0.3 * np.sin(2 * np.pi * freq * np.arange(n) / sr).astype(np.float32)


@pytest.fixture
def fsdd(tmp_path):
    """2 digits x 4 speakers x 2 takes; lengths 3000 (padded) and 9000 (cut); bob is at 16 kHz."""
    folder = tmp_path / "fsdd"
    folder.mkdir()
    for digit in (0, 1):
        for s, speaker in enumerate(SPEAKERS):
            for take, n in enumerate((3000, 9000)):
                sr = 16000 if speaker == "bob" else 8000
                n = n * sr // 8000
                sf.write(folder / f"{digit}_{speaker}_{take}.wav",
                         _tone(n, 200 + 100 * digit + 10 * s, sr), sr)
    return folder


def test_prepare_splits_by_speaker_pads_and_cuts(fsdd, tmp_path):
    out = tmp_path / "prepared"
    split = prepare(fsdd, out, length=4096, val_speakers=("cat",), test_speakers=("dan",))
    assert split["parts"]["train"]["speakers"] == ["ann", "bob"]
    assert json.loads((out / "split.json").read_text())["parts"]["test"]["clips"] == 4
    train = load_part(out, "train")
    assert train["audio"].shape == (8, 4096) and train["audio"].dtype == np.float32
    assert set(train["speakers"]) == {"ann", "bob"} and sorted(set(train["labels"])) == [0, 1]
    short = train["files"].tolist().index("0_ann_0.wav")
    assert np.all(train["audio"][short, 3000:] == 0) and np.any(train["audio"][short, :3000])
    long = train["files"].tolist().index("0_ann_1.wav")   # cut at the end: starts as the file
    np.testing.assert_allclose(train["audio"][long], _tone(9000, 200)[:4096], atol=1e-4)
    resampled = train["files"].tolist().index("0_bob_1.wav")
    assert np.all(np.isfinite(train["audio"][resampled])) and np.any(train["audio"][resampled])
    audio, labels = load_split(out, "val")
    assert audio.shape == (4, 4096) and labels.tolist().count(1) == 2
    assert not list(tmp_path.glob(".prepared.*")), "the temporary folder is left behind"


def test_normalize_scales_every_clip_to_the_same_peak_keeping_its_shape(fsdd, tmp_path):
    prepare(fsdd, tmp_path / "raw", length=4096, val_speakers=("cat",), test_speakers=("dan",))
    raw = load_part(tmp_path / "raw", "train")["audio"]
    split = prepare(fsdd, tmp_path / "norm", length=4096, val_speakers=("cat",),
                    test_speakers=("dan",), normalize=True)
    norm = load_part(tmp_path / "norm", "train")["audio"]
    assert split["normalize"] is True
    np.testing.assert_allclose(np.abs(norm).max(axis=1), 0.95, rtol=1e-6)
    gain = np.abs(norm).max(axis=1) / np.abs(raw).max(axis=1)
    np.testing.assert_allclose(norm, raw * gain[:, None], rtol=1e-5, atol=1e-7)
    assert not np.allclose(gain, 1.0)                       # the fixture's tones are not at 0.95


def test_fit_length_centre():
    x = np.ones(4, np.float32)
    assert fit_length(x, 8, "center").tolist() == [0, 0, 1, 1, 1, 1, 0, 0]
    assert fit_length(np.arange(8.0), 4, "center").tolist() == [2, 3, 4, 5]


@pytest.mark.parametrize("kind", ["silent", "corrupt"])
def test_bad_file_is_refused_naming_it_or_skipped(fsdd, tmp_path, kind):
    bad = fsdd / "1_ann_7.wav"
    if kind == "silent":
        sf.write(bad, np.zeros(3000, np.float32), 8000)
    else:
        bad.write_bytes(b"RIFF\x00\x00\x00\x00not a wave file at all")
    with pytest.raises(InputError, match="1_ann_7.wav"):
        prepare(fsdd, tmp_path / "out", val_speakers=("cat",), test_speakers=("dan",))
    assert not (tmp_path / "out").exists()
    split = prepare(fsdd, tmp_path / "out", val_speakers=("cat",), test_speakers=("dan",),
                    skip_bad=True)
    assert split["skipped"] == 1 and split["parts"]["train"]["clips"] == 8


def test_unknown_speaker_and_bad_name(fsdd, tmp_path):
    with pytest.raises(InputError, match="zed"):
        prepare(fsdd, tmp_path / "out", val_speakers=("zed",), test_speakers=("dan",))
    sf.write(fsdd / "hello.wav", _tone(100, 300), 8000)
    with pytest.raises(InputError, match="hello.wav"):
        prepare(fsdd, tmp_path / "out", val_speakers=("cat",), test_speakers=("dan",))


def test_missing_corpus_folder_is_one_line_naming_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AUDIOSYNTH_REALDATA", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit) as exit_info:
        main(["--out_dir", str(tmp_path / "out")])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere/fsdd_8k" in err[0] and "no such folder" in err[0]
    assert not (tmp_path / "out").exists()


def test_inception_score_perfect_balanced_is_10_and_constant_is_1():
    perfect = np.eye(10)[np.arange(1000) % 10]
    score, std = metrics.inception_score(perfect, splits=10)
    assert score == pytest.approx(10.0, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    assert metrics.label_entropy(perfect) == pytest.approx(np.log(10))
    assert metrics.conditional_entropy(perfect) == pytest.approx(0.0, abs=1e-6)
    constant = np.eye(10)[np.zeros(1000, int)]
    assert metrics.inception_score(constant)[0] == pytest.approx(1.0, abs=1e-6)
    assert metrics.label_entropy(constant) == pytest.approx(0.0, abs=1e-6)
    sorted_by_digit = np.eye(10)[np.repeat(np.arange(10), 100)]
    assert metrics.inception_score(sorted_by_digit)[0] == pytest.approx(1.0)   # parts of one digit
    assert metrics.inception_score(sorted_by_digit, shuffle_seed=0)[0] == pytest.approx(10, rel=0.06)
    unsure = np.full((100, 10), 0.1)
    assert metrics.inception_score(unsure)[0] == pytest.approx(1.0, abs=1e-6)


def test_nearest_neighbours_detect_copies():
    rng = np.random.default_rng(0)
    train = rng.random((50, 20))
    copies = train[:10] + 1e-4
    nn_self, nn_train = metrics.nearest_neighbour_distances(copies, train)
    assert nn_train < 1e-3 < nn_self
    collapsed = np.repeat(rng.random((1, 20)), 5, axis=0)
    assert metrics.nearest_neighbour_distances(collapsed, train)[0] == pytest.approx(0, abs=1e-3)
    feats = metrics.nn_features(rng.standard_normal((3, 8192)).astype(np.float32))
    assert feats.shape == (3, 65 * 64) and 0 <= feats.min() and feats.max() <= 1


def test_consistency_of_a_real_stft_exceeds_a_scrambled_one():
    """The Gaussian-window STFT magnitude of a chirp in noise vs its frames shuffled.

    (A clean stationary tone is a degenerate case: both offset second differences are
    the constant pi / 4, so there is nothing to correlate.)
    """
    from dsp.spectral import stft

    n = np.arange(8192)
    noise = np.random.default_rng(1).standard_normal(8192)
    x = np.sin(2 * np.pi * (300 + 0.1 * n) * n / 8000) + 0.1 * noise
    window = np.exp(-np.pi * (np.arange(256) - 128.0) ** 2 / (64 * 256))
    mag = np.abs(stft(x, 256, 64, window=window))[:128, :128]
    log_mag = np.maximum(np.log(mag / mag.max() + 1e-30), -10)
    scrambled = np.random.default_rng(0).permutation(log_mag)   # frames in random order
    real = metrics.consistency(log_mag)
    assert real > 0.6 and real > metrics.consistency(scrambled) + 0.2
    batch = metrics.consistency(np.stack([log_mag, scrambled]))
    assert batch.shape == (2,) and batch[0] == pytest.approx(real)


@pytest.mark.parametrize("kind", ["specgan", "tifgan"])
def test_real_clips_through_inversion_keep_their_magnitude(kind):
    """A harmonic clip taken through the GAN features and PGHI keeps its spectrum (SC < 0.35 after
    peak normalisation: TiFGAN's features drop each clip's level); white noise gives SC 3.5."""
    from wavegan import spectrograms
    from wavegan.evaluate import invert_real

    t = np.arange(8192) / 8000
    clip = sum(0.1 / k * np.sin(2 * np.pi * 150 * k * t + k) for k in range(1, 8))
    clip = (clip * np.hanning(8192)).astype(np.float32)[None]
    train = np.concatenate([clip, 0.5 * clip, _tone(8192, 300)[None]])
    out = invert_real(clip, train, kind, "pghi")
    assert out.shape == (1, 8192) and np.all(np.isfinite(out))
    ref, got = (m / m.max() for m in (spectrograms.magnitude(x, kind) for x in (clip, out)))
    sc = np.linalg.norm(ref - got) / np.linalg.norm(ref)
    assert sc < 0.35, sc
