"""Dynamic mixing (separation.dynamic_mixing): targets belong to their mixtures, batches repeat by
(seed, epoch, index), the split's rule is followed, and the sources are those of the saved training list."""
import json
from pathlib import Path

import numpy as np
import pytest

from dsp.audio import InputError
from separation.dynamic_mixing import DynamicMixtures, load_training_sources, split_rule_snr
from separation.features import FeatureSettings
from separation.mixing import read_list
from tests.separation.mixtures import write_mixtures

FS = FeatureSettings(sample_rate=16000, n_fft=800, hop=200, n_mels=80, mel_fmin=50.0)


def _tone(f, seconds, amp=0.3, sr=16000):
    return (amp * np.sin(2 * np.pi * f * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


def _white(seconds, seed, sr=16000):
    return np.random.default_rng(seed).standard_normal(int(seconds * sr)).astype(np.float32) * 0.1


@pytest.mark.parametrize("kind", ["proposed", "b1"])
def test_target_is_the_clean_part_of_its_mixture(kind):
    """At 120 dB SNR the mixture is its speech: the mixture's features equal the target crop by crop."""
    speech = [_tone(220, 1.5), _tone(330, 2.5) * np.hanning(40000).astype(np.float32)]
    ds = DynamicMixtures(speech, [_white(1.0, 0)], FS, kind, frames=16, batch_size=4, steps=2, seed=3,
                         seconds=1.0, snr_db=120.0)
    x, y = ds[0]
    bins = FS.n_mels if kind == "proposed" else FS.n_linear
    assert x["mel"].shape == (4, 16, FS.n_mels) and x["linear"].shape == (4, 16, FS.n_linear)
    assert y.shape == (4, 16, bins) and y.dtype == np.float32
    got = x["mel"] if kind == "proposed" else x["linear"]
    np.testing.assert_allclose(got, y, atol=2e-3)
    assert y.max() > 0.5   # crops of the tones, not of padding


def test_paper_rule_mixture_holds_the_noise_and_the_target_does_not():
    """A 440 Hz tone mixed with a 3 kHz tone by the paper's peak rule: the mixture's mel has both
    peaks, the target only the speech's."""
    ds = DynamicMixtures([_tone(440, 2.0)], [_tone(3000, 0.7)], FS, "proposed", frames=32, batch_size=2, steps=1,
                         seed=0, seconds=1.0)
    x, y = ds[0]
    b440 = int(np.argmax(y[0].mean(0)))                          # the band of the speech
    b3k = int(np.argmax(x["mel"][0].mean(0) - y[0].mean(0)))     # the band the noise added
    assert b3k > b440 + 20
    assert x["mel"][0, :, b3k].mean() > y[0, :, b3k].mean() + 0.2
    assert abs(x["mel"][0, :, b440].mean() - y[0, :, b440].mean()) < 0.05


def test_batches_repeat_by_seed_epoch_and_index_and_change_otherwise():
    speech = [_white(3.0, s) * np.hanning(48000).astype(np.float32) for s in range(3)]
    noises = [_tone(f, 0.5) for f in (300, 900, 2500)]

    def batch(seed, epoch, idx):
        ds = DynamicMixtures(speech, noises, FS, "proposed", frames=16, batch_size=3, steps=4, seed=seed,
                             seconds=1.5)
        ds.epoch = epoch
        return ds[idx]

    a = batch(0, 1, 2)
    np.testing.assert_array_equal(a[0]["mel"], batch(0, 1, 2)[0]["mel"])
    np.testing.assert_array_equal(a[1], batch(0, 1, 2)[1])
    for other in (batch(0, 2, 2), batch(0, 1, 3), batch(1, 1, 2)):
        assert not np.allclose(a[0]["mel"], other[0]["mel"])


def test_balanced_draws_give_every_folder_an_equal_share():
    """Nine utterances of one speaker (a 300 Hz tone) and one of another (2 kHz): drawn by utterance the
    second is in ~10 % of the crops, drawn by folder in ~50 %."""
    speech = [_tone(300, 1.0)] * 9 + [_tone(2000, 1.0)]
    high_band = int(np.argmax(FS.mel(_tone(2000, 0.5)).mean(0)))

    def share(groups):
        ds = DynamicMixtures(speech, [_white(1, 0)], FS, frames=8, batch_size=100, steps=1, seconds=1.0,
                             snr_db=60.0, groups=groups)
        y = ds[0][1]
        return np.mean(np.argmax(y.mean(1), axis=1) == high_band)

    assert share(None) < 0.2 and 0.35 < share(["a"] * 9 + ["b"]) < 0.65
    with pytest.raises(ValueError, match="2 group labels for 10"):
        DynamicMixtures(speech, [_white(1, 0)], FS, groups=["a", "b"])


def test_silent_sources_are_refused_and_pauses_skipped():
    with pytest.raises(InputError, match="non-silent"):
        DynamicMixtures([np.zeros(16000, np.float32)], [_white(1, 0)], FS)
    # an utterance that is silent but for its last 0.5 s: every 1-s window drawn has speech in it
    x = np.concatenate([np.zeros(64000, np.float32), _tone(500, 0.5)])
    ds = DynamicMixtures([x], [_white(1, 0)], FS, frames=8, batch_size=4, steps=1, seconds=1.0)
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert np.max(np.abs(ds._speech_window(rng))) > 0.1


def test_split_rule_snr(tmp_path):
    with pytest.raises(InputError, match="split.json: not found"):
        split_rule_snr(tmp_path)
    for rule, snr in (("paper", None), ("snr 5.0 dB", 5.0), ("snr -3 dB", -3.0)):
        (tmp_path / "split.json").write_text(json.dumps({"rule": rule}))
        assert split_rule_snr(tmp_path) == snr
    (tmp_path / "split.json").write_text(json.dumps({"rule": "loudest"}))
    with pytest.raises(InputError, match="unknown mixing rule"):
        split_rule_snr(tmp_path)


def test_sources_are_the_distinct_recordings_of_the_training_list(tmp_path):
    root = write_mixtures(tmp_path, {})
    rows = read_list(root / "mix" / "train.csv")
    speech, noises, folders = load_training_sources(root / "mix", 22050, progress=False)
    assert len(speech) == len({r["speech"] for r in rows}) and len(noises) == len({r["noise"] for r in rows})
    assert folders == [str(Path(p).parent) for p in dict.fromkeys(r["speech"] for r in rows)]
    assert len(set(folders)) == 1      # one speaker: the synthetic corpus' wavs/
    assert all(s.ndim == 1 and s.dtype == np.float32 and len(s) > 0.5 * 22050 for s in speech)
    (root / "mix" / "train.csv").write_text("id,speech,noise,snr_db\n")
    with pytest.raises(InputError, match="no mixtures listed"):
        load_training_sources(root / "mix", 22050)


def test_b2_windows_of_new_mixtures_add_up_and_repeat():
    """B2's windows (train_b2.DynamicWindows): speech + noise targets are the mixture's centre samples; the
    batch repeats for its (seed, epoch, index)."""
    from separation.denoising_wavenet import B2Config
    from separation.train_b2 import DynamicWindows

    cfg = B2Config(stacks=1, max_dilation_exp=3, residual_channels=4, gate_channels=8, skip_channels=4,
                   head_channels=(8, 4), target_field=100)
    mixtures = DynamicMixtures([_tone(200, 1.0), _tone(350, 2.0)], [_white(0.5, 1)], FS, seconds=1.0)
    ds = DynamicWindows(mixtures, cfg, batch_size=3, steps=2, seed=0)
    x, y = ds[1]
    assert x.shape == (3, cfg.input_length) and y["speech"].shape == y["noise"].shape == (3, cfg.target_field)
    half = (cfg.model_field - 1) // 2
    np.testing.assert_allclose(y["speech"] + y["noise"], x[:, half:half + cfg.target_field], atol=1e-6)
    assert np.abs(y["noise"]).max() > 0.01 and np.abs(y["speech"]).max() > 0.1
    np.testing.assert_array_equal(x, ds[1][0])
    assert not np.allclose(x, ds[0][0])
