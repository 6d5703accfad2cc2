"""resgan.recordings: a new recording is analysed, or refused with one line naming the file
and the problem (too short, silent, clipped, not speech), before anything is written."""
import numpy as np
import pytest
import soundfile as sf

from dsp.audio import InputError, write_wav
from resgan.recordings import analyze_recording, analyze_recordings

SR = 16000


@pytest.fixture(scope="module")
def speech(tiny_corpus):
    """A synthetic voiced utterance (known F0) of the tiny corpus."""
    return sorted((tiny_corpus / "wav").glob("*.wav"))[0]


def test_a_voiced_recording_at_another_rate_is_resampled_and_analysed(speech, tmp_path):
    x, sr = sf.read(speech)
    stereo = tmp_path / "stereo44k.wav"
    up = np.interp(np.arange(int(len(x) * 44100 / sr)) * sr / 44100, np.arange(len(x)), x)
    sf.write(stereo, np.stack([up, up], 1), 44100)
    rec = analyze_recording(stereo)
    assert abs(len(rec.audio) - len(x)) <= 1
    assert rec.features.inputs.shape[1] == 22 and rec.features.voiced.mean() > 0.3
    assert rec.features.targets.shape == (len(rec.features.inputs), 400)


@pytest.mark.parametrize("name, make, problem", [
    ("short.wav", lambda x, rng: x[:SR // 10], "too short (0.10 s, need at least 0.25 s)"),
    ("quiet.wav", lambda x, rng: 1e-4 * rng.standard_normal(SR), "silent (RMS level -80 dBFS"),
    ("clipped.wav", lambda x, rng: np.clip(8 * x / np.abs(x).max(), -1, 1), "clipped ("),
    ("noise.wav", lambda x, rng: 0.1 * rng.standard_normal(2 * SR), "not speech ("),
])
def test_unusable_recordings_are_refused_with_one_line(speech, tmp_path, name, make, problem):
    x, _ = sf.read(speech)
    path = tmp_path / name
    write_wav(path, make(x, np.random.default_rng(0)), SR)
    with pytest.raises(InputError) as err:
        analyze_recording(path)
    assert str(err.value).startswith(f"{path}: {problem}"), err.value
    assert "\n" not in str(err.value)


def test_skip_bad_warns_and_keeps_the_others(speech, tmp_path, capsys):
    bad = tmp_path / "quiet.wav"
    write_wav(bad, 1e-4 * np.random.default_rng(1).standard_normal(SR), SR)
    with pytest.raises(InputError, match="quiet.wav: silent"):
        analyze_recordings([speech, bad], progress=False)
    recs = analyze_recordings([speech, bad], skip_bad=True, progress=False)
    assert [r.path for r in recs] == [speech]
    assert "warning: skipped " in capsys.readouterr().err
    with pytest.raises(InputError, match="no usable recording"):
        analyze_recordings([bad], skip_bad=True, progress=False)
