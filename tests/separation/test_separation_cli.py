"""separation.separate in batch mode and the separation.evaluate command line on their happy
path, in-process through main(argv): 16 kHz mixtures of synthetic speech and white noise at
0 dB, their clean references, the oracle mask (no trained model needed) and a B1 "encoder"
that returns its input (the model-loading path)."""
import contextlib
import io
import json

import keras
import numpy as np
import pytest
import soundfile as sf

from corpus.synth import make_corpus
from dsp.audio import load_audio, resample, write_wav
from dsp.metrics import si_sdr
from separation import evaluate, mixing, separate
from separation import features as F

SR = 22050


@pytest.fixture(scope="module")
def mixtures(tmp_path_factory):
    """mix/<id>.wav and clean/<id>.wav, 16 kHz float, three utterances at 0 dB SNR (long enough
    for STOI's 30 non-silent frames)."""
    root = tmp_path_factory.mktemp("separation_cli")
    wavs = make_corpus(root / "speech", n_utterances=3, seconds_per_utt=(1.6, 2.0), sr=16000, seed=0)
    rng = np.random.default_rng(0)
    (root / "mix").mkdir()
    (root / "clean").mkdir()
    for wav in wavs:
        speech, _ = load_audio(wav)
        mix, clean, _ = mixing.mix_snr(speech, rng.standard_normal(len(speech)).astype(np.float32), 0.0)
        write_wav(root / "mix" / f"{wav.stem}.wav", mix, 16000, subtype="FLOAT")
        write_wav(root / "clean" / f"{wav.stem}.wav", clean, 16000, subtype="FLOAT")
    return root, sorted(w.stem for w in wavs)


def _run(main, argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(argv)
    return out.getvalue()


@pytest.fixture(scope="module")
def separated(mixtures):
    """`python -m separation.separate --method ibm_gt --input_dir ... --out_dir ...`."""
    root, ids = mixtures
    printed = _run(separate.main, ["--method", "ibm_gt", "--input_dir", str(root / "mix"),
                                   "--reference_dir", str(root / "clean"), "--out_dir", str(root / "ibm")])
    return root, ids, printed


def test_batch_mode_separates_every_file_at_the_mixtures_rate_and_length(separated):
    """One wav per mixture, named like it, at the mixture's 16 kHz and length (the models run at
    22.05 kHz in between), and the oracle mask lifts SI-SDR by more than 5 dB over the mixture."""
    root, ids, printed = separated
    assert printed.strip() == f"ibm_gt: wrote 3 file(s) to {root / 'ibm'}"
    assert sorted(p.stem for p in (root / "ibm").glob("*.wav")) == ids
    for i in ids:
        y, sr = sf.read(root / "ibm" / f"{i}.wav")
        mix, _ = load_audio(root / "mix" / f"{i}.wav")
        clean, _ = load_audio(root / "clean" / f"{i}.wav")
        assert sr == 16000 and y.shape == mix.shape
        assert si_sdr(clean, y) > si_sdr(clean, mix) + 5


def _identity_b1(frames=64):
    """A 'B1 encoder' whose linear-spectrum estimate is its linear input."""
    lin = keras.Input((frames, 512), name="linear")
    mel = keras.Input((frames, 80), name="mel")
    return keras.Model({"linear": lin, "mel": mel}, keras.layers.Identity()(lin))


def test_batch_mode_with_a_model_from_model_dir(mixtures, tmp_path):
    """--method b1 loads encoder_b1.keras from --model_dir; --limit keeps the first files.
    With an encoder that returns the mixture's own spectrum, Griffin-Lim gives back a
    signal with the mixture's log spectrogram (the encoder's features)."""
    root, ids = mixtures
    _identity_b1().save(tmp_path / "encoder_b1.keras")
    printed = _run(separate.main, ["--method", "b1", "--input_dir", str(root / "mix"), "--out_dir",
                                   str(tmp_path / "b1"), "--model_dir", str(tmp_path), "--limit", "2"])
    assert "b1: wrote 2 file(s)" in printed
    assert sorted(p.stem for p in (tmp_path / "b1").glob("*.wav")) == ids[:2]
    for i in ids[:2]:
        y, sr = sf.read(tmp_path / "b1" / f"{i}.wav")
        mix, _ = load_audio(root / "mix" / f"{i}.wav")
        assert sr == 16000 and y.shape == mix.shape
        y, mix = resample(y, 16000, SR), resample(mix, 16000, SR)   # the encoder's features are at 22.05 kHz
        diff = np.mean(np.abs(F.linear_features(y) - F.linear_features(mix)))
        other = np.mean(np.abs(F.linear_features(y) - F.linear_features(mix[::-1])))  # time-reversed
        assert diff < 0.025 and diff < 0.5 * other, (diff, other)  # 0.025: 2 dB of the 80 dB scale


def test_evaluate_cli_writes_the_table_the_scores_and_the_figures(separated, tmp_path):
    """The last printed line is the JSON summary: the 0 dB mixtures score SI-SDR ~ 0 dB (the
    mixing SNR), the oracle mask far higher, every metric in its range; the CSV files hold
    one row per method and per (method, file); the bar chart and one spectrogram figure."""
    root, ids, _ = separated
    out = tmp_path / "figures"
    printed = _run(evaluate.main, ["--reference_dir", str(root / "clean"), "--estimate_dir",
                                   str(root / "ibm"), "--labels", "IBM", "--mixture_dir",
                                   str(root / "mix"), "--out_dir", str(out), "--n_spectrograms", "1"])
    summary = json.loads(printed.strip().splitlines()[-1])
    assert list(summary) == ["Input", "IBM"]
    for scores in summary.values():
        assert set(scores) == {"pesq", "stoi", "si_sdr", "sdr", "p808"}
        assert 1.0 <= scores["pesq"] <= 4.6 and 0.0 <= scores["stoi"] <= 1.0 and 1.0 <= scores["p808"] <= 5.0
    assert abs(summary["Input"]["si_sdr"]) < 0.5
    assert summary["IBM"]["si_sdr"] > summary["Input"]["si_sdr"] + 5
    assert summary["IBM"]["stoi"] > summary["Input"]["stoi"]
    assert summary["IBM"]["pesq"] > summary["Input"]["pesq"]
    table = (out / "separation_table.csv").read_text().strip().splitlines()
    assert summary["IBM"]["p808"] > summary["Input"]["p808"]      # the 0 dB white noise is heard as noise
    assert table[0] == "method,n,pesq,stoi,si_sdr,sdr,p808" and [r.split(",")[:2] for r in table[1:]] == [
        ["Input", "3"], ["IBM", "3"]]
    assert len((out / "separation_scores.csv").read_text().strip().splitlines()) == 1 + 2 * 3
    assert (out / "separation_metrics.png").stat().st_size > 1000
    assert [p.name for p in out.glob("separation_spectrograms_*.png")] == [
        f"separation_spectrograms_{ids[0]}.png"]
