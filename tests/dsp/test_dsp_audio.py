"""Audio loading: every kind of bad input gives one clear error naming the file."""
import json

import librosa
import numpy as np
import pytest
import soundfile as sf

from dsp.audio import (CONVERSION_NOTICE, AudioInputError, InputError, atomic_output, load_audio, notice_count,
                       resample, reset_notices, write_json, write_wav)


def _write(path, x, sr=16000):
    sf.write(str(path), x, sr, subtype="FLOAT")
    return path


def test_load_resamples_and_downmixes_with_notice(tmp_path, capsys):
    t = np.arange(8000) / 8000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], 1) * 0.5
    path = _write(tmp_path / "s.wav", stereo, 8000)
    reset_notices()  # the conversion notice is given once per process
    x, sr = load_audio(path, sr=16000)
    assert sr == 16000 and x.ndim == 1 and abs(len(x) - 16000) <= 1
    err = capsys.readouterr().err
    assert "downmixed" in err and "resampled from 8000 Hz to 16000 Hz" in err
    # the 440 Hz tone survives resampling
    spec = np.abs(np.fft.rfft(x))
    assert abs(np.argmax(spec) * sr / len(x) - 440) < 2


@pytest.mark.parametrize("case,message", [
    ("missing", "file not found"), ("empty", "file is empty"),
    ("corrupt", "cannot decode"), ("nan", "NaN or Inf"), ("silence", "all zeros"),
    ("short", "too short"),
])
def test_bad_audio_raises_clear_error(tmp_path, case, message):
    path = tmp_path / f"{case}.wav"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "corrupt":
        path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    elif case == "nan":
        _write(path, np.array([0.1, np.nan, 0.2]))
    elif case == "silence":
        _write(path, np.zeros(1000))
    elif case == "short":
        _write(path, np.ones(10) * 0.1)
    with pytest.raises(AudioInputError) as info:
        load_audio(path, min_samples=80)
    assert str(path) in str(info.value) and message in str(info.value)


def test_atomic_output_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"partial")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="does not exist"):
        with atomic_output(tmp_path / "no" / "out.bin"):
            pass


def test_write_wav_round_trip(tmp_path):
    x = (0.5 * np.sin(np.arange(1600) / 5)).astype(np.float32)
    write_wav(tmp_path / "a.wav", x, 16000)
    y, sr = load_audio(tmp_path / "a.wav")
    assert sr == 16000 and np.max(np.abs(x - y)) < 1e-4


@pytest.mark.parametrize("shape", [(22050,), (22051, 2), (37,)])
@pytest.mark.parametrize("rates", [(22050, 16000), (8000, 16000), (44100, 22050)])
def test_resample_is_librosa_soxr_hq_bit_for_bit(shape, rates):
    """dsp.audio calls soxr itself (librosa's resampler costs seconds of start-up)."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ref = librosa.resample(x.T, orig_sr=rates[0], target_sr=rates[1], res_type="soxr_hq").T
    got = resample(x, *rates)
    assert got.shape == ref.shape and got.dtype == np.float32 and np.array_equal(got, ref)


def test_write_json_round_trip_is_atomic(tmp_path):
    target = tmp_path / "state.json"
    write_json(target, {"path": tmp_path, "epoch": 3, "loss": [0.5, 0.25]})
    assert json.loads(target.read_text()) == {"path": str(tmp_path), "epoch": 3, "loss": [0.5, 0.25]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]   # no temporary left behind
    with pytest.raises(InputError):
        write_json(tmp_path / "missing" / "x.json", {})


def test_a_folder_of_converted_files_gives_one_notice(tmp_path, capsys):
    stereo = np.stack([np.sin(np.arange(4410) / 7), np.cos(np.arange(4410) / 7)], 1) * 0.5
    paths = [_write(tmp_path / f"s{i}.wav", stereo, 44100) for i in range(4)]
    reset_notices()
    for path in paths:
        load_audio(path, sr=16000)
    notes = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "s0.wav" in notes[0] and "downmixed" in notes[0] and "resampled" in notes[0]
    assert notice_count(CONVERSION_NOTICE) == 4
    with pytest.raises(AudioInputError, match="all zeros"):  # a refused file gets its error only
        load_audio(_write(tmp_path / "z.wav", np.zeros((100, 2)), 44100), sr=16000)
    reset_notices()
    load_audio(paths[1], sr=16000)
    assert "s1.wav" in capsys.readouterr().err


def test_truncated_wav_is_refused_but_streamed_and_chunked_ones_load(tmp_path):
    x = (0.3 * np.sin(np.arange(8000) / 5)).astype(np.float32)
    full = tmp_path / "full.wav"
    sf.write(str(full), x, 16000, subtype="PCM_16")
    data = full.read_bytes()
    assert data[36:40] == b"data"                       # soundfile's 44-byte header
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[:44 + 1001])
    with pytest.raises(AudioInputError, match=r"cut\.wav: truncated \(the header announces 16000 bytes"):
        load_audio(cut)
    streamed = tmp_path / "streamed.wav"                 # written to a pipe: sizes unknown
    streamed.write_bytes(data[:40] + b"\xff\xff\xff\xff" + data[44:])
    assert len(load_audio(streamed)[0]) == 8000
    chunked = tmp_path / "chunked.wav"                   # a LIST chunk after the audio
    chunked.write_bytes(data + b"LIST" + (4).to_bytes(4, "little") + b"INFO")
    assert len(load_audio(chunked)[0]) == 8000
