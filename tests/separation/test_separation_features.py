"""Feature settings of the separation pipeline: the paper's by default, a trained vocoder's on request
(the encoder then predicts exactly that vocoder's mel), saved with the data and the models."""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from corpus.noise import make_noises
from corpus.synth import make_corpus
from dsp.audio import InputError
from separation import features as F
from separation import mixing
from separation.data import CropDataset, load_split
from separation.encoder import EncoderConfig, build_encoder
from separation.make_mixtures import main as make_mixtures_main
from wavenet.features import log_mel
from wavenet.model import WaveNetConfig

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_VOCODER = ROOT / "pretrained" / "wavenet"


def harmonic(sr, seconds=0.5, f0=140.0):
    t = np.arange(int(seconds * sr)) / sr
    return (0.2 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 20))).astype(np.float32)


def test_paper_settings_are_the_module_functions():
    x = harmonic(22050)
    np.testing.assert_array_equal(F.PAPER.mel(x), F.mel_features(x))
    np.testing.assert_array_equal(F.PAPER.linear(x), F.linear_features(x))
    assert F.PAPER.linear(x).shape == (F.n_frames(len(x)), 512) and F.PAPER.n_linear == 512
    assert F.FeatureSettings.from_dict(F.PAPER.to_dict()) == F.PAPER


def test_vocoder_settings_give_the_vocoders_own_mel():
    """`settings_of(pretrained/wavenet)` computes the mel the shipped vocoder was trained on, frame for frame."""
    fs = F.settings_of(str(SHIPPED_VOCODER))
    cfg = WaveNetConfig.from_dict(json.loads((SHIPPED_VOCODER / "vocoder.json").read_text())["config"])
    assert (fs.sample_rate, fs.n_fft, fs.hop, fs.n_linear) == (16000, 800, 200, 400)
    x = harmonic(16000)
    mel = fs.mel(x)
    assert mel.shape == (1 + len(x) // 200, 80)
    np.testing.assert_allclose(mel[:len(x) // 200], log_mel(x, cfg), atol=1e-6)   # whole hops: one frame less
    assert fs.mel_matches(F.FeatureSettings.from_vocoder(cfg)) and not fs.mel_matches(F.PAPER)
    assert F.settings_of(str(SHIPPED_VOCODER / "vocoder.keras")) == fs
    assert F.settings_of("paper") is F.PAPER


def test_bad_settings_are_refused_with_the_file(tmp_path):
    with pytest.raises(InputError, match="vocoder settings not found"):
        F.settings_of(str(tmp_path / "nothing"))
    (tmp_path / "v.json").write_text('{"config": {"sample_rate": 16000}}')
    with pytest.raises(InputError, match="v.json: not a vocoder's settings"):
        F.settings_of(str(tmp_path / "v.json"))
    (tmp_path / "features.json").write_text('{"sample_rate": 16000, "n_fftt": 800}')
    with pytest.raises(InputError, match="features.json: not valid feature settings"):
        F.load_settings(tmp_path)
    assert F.load_settings(tmp_path / "empty") == F.PAPER     # a folder from before the settings were saved


def test_a_model_folder_keeps_one_set_of_settings(tmp_path):
    sixteen = F.settings_of(str(SHIPPED_VOCODER))
    F.claim_settings(tmp_path / "models", sixteen)
    F.claim_settings(tmp_path / "models", sixteen)            # the same again: fine
    assert F.load_settings(tmp_path / "models") == sixteen
    with pytest.raises(InputError, match="other feature settings than the data"):
        F.claim_settings(tmp_path / "models", F.PAPER)


def test_mixtures_and_training_crops_at_the_vocoders_rate(tmp_path):
    """Stage 1 with --features pretrained/wavenet: 16 kHz mixtures, features.json, and 400-bin / 80-band
    crops; the encoder builds for those sizes."""
    make_corpus(tmp_path / "speech", n_utterances=4, seconds_per_utt=(0.6, 0.8), sr=22050, seed=0)
    make_noises(tmp_path / "noise", sr=22050, seconds=0.7, seed=0, n_per_kind=1, categories=("pink_noise", "babble"))
    assert make_mixtures_main(["--speech_dir", str(tmp_path / "speech"), "--noise_dir", str(tmp_path / "noise"),
                               "--out_dir", str(tmp_path / "mix"), "--categories", "all", "--min_noise_seconds",
                               "0.5", "--noise_test_fraction", "0.5", "--features", str(SHIPPED_VOCODER)]) is None
    assert F.load_settings(tmp_path / "mix") == F.settings_of(str(SHIPPED_VOCODER))
    first = next((tmp_path / "mix" / "train" / "mix").glob("*.wav"))
    assert sf.info(first).samplerate == 16000
    items = load_split(tmp_path / "mix", "train", "b1", progress=False)
    x, y = CropDataset(items, frames=16, batch_size=2, steps=1, seed=0)[0]
    assert x["linear"].shape == (2, 16, 400) and x["mel"].shape == (2, 16, 80) and y.shape == (2, 16, 400)
    cfg = EncoderConfig(frames=16, lstm_linear=4, lstm_mel=4, res_mid=4, res_out=4, depth=3)
    assert build_encoder("b1", cfg, n_linear=400, n_mels=80).output.shape == (None, 16, 400)
    with pytest.raises(ValueError, match="output bins=84 must be divisible"):
        build_encoder("proposed", cfg, n_linear=400, n_mels=84)


def test_speech_split_given_as_folders(tmp_path, capsys):
    """--train_speech/--val_speech/--test_speech: every file of a folder goes to that split, tagged by its
    folder (the same prompt name in two speakers' folders stays two utterances); mixing the two ways of
    giving speech is refused before anything is written."""
    make_noises(tmp_path / "noise", sr=16000, seconds=0.7, seed=0, n_per_kind=1,
                categories=("pink_noise", "babble", "mains_hum"))
    for speaker, f0 in (("es", 120.0), ("it", 200.0), ("lj", 150.0)):
        (tmp_path / speaker).mkdir()
        for name in ("hello", "bye"):
            sf.write(tmp_path / speaker / f"{name}.wav", harmonic(16000, 0.7, f0), 16000)
    common = ["--noise_dir", str(tmp_path / "noise"), "--categories", "all", "--min_noise_seconds", "0.5",
              "--noise_test_fraction", "0.34", "--noise_val_fraction", "0.33"]
    make_mixtures_main(["--train_speech", str(tmp_path / "es"), str(tmp_path / "it"), "--val_speech",
                        str(tmp_path / "lj"), "--test_speech", str(tmp_path / "lj"), "--out_dir", str(tmp_path / "mix"),
                        "--train_mixes", "1", *common])
    split = json.loads((tmp_path / "mix" / "split.json").read_text())
    assert split["speech"]["train"] == ["es_bye", "es_hello", "it_bye", "it_hello"]
    assert split["speech"]["val"] == split["speech"]["test"] == ["lj_bye", "lj_hello"]
    noises = {k: set(split["noise"][k]) for k in ("train", "val", "test")}   # three disjoint recordings
    assert all(len(v) == 1 for v in noises.values()) and len(set.union(*noises.values())) == 3
    for part in ("train", "val", "test"):
        assert {r["noise"] for r in mixing.read_list(tmp_path / "mix" / f"{part}.csv")} == noises[part]
    with pytest.raises(SystemExit):
        make_mixtures_main(["--speech_dir", str(tmp_path / "es"), "--train_speech", str(tmp_path / "es"),
                            "--out_dir", str(tmp_path / "mix2"), *common])
    assert "give either --speech_dir or all three" in capsys.readouterr().err
    assert not (tmp_path / "mix2").exists()
