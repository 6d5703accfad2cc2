"""Real-corpus readers on tiny fixture layouts, their errors, and on the real recordings."""

import numpy as np
import pytest
import soundfile as sf

from corpus.readers import (
    ESC50_CLASSES, ESC50_ENVIRONMENTAL_CLASSES, list_wavs, read_cmu_arctic, read_esc50,
    read_ljspeech, read_tsp,
)
from corpus.synth import make_corpus
from dsp.audio import InputError


def _wav(path, seconds=0.05, sr=8000, silent_after=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    x = 0.1 * np.random.default_rng(0).standard_normal(int(seconds * sr))
    if silent_after is not None:
        x[int(silent_after * sr):] = 0.0
    sf.write(str(path), x, sr)
    return path


# --- generic folder ---------------------------------------------------------

def test_list_wavs_recursive_sorted(tmp_path):
    for rel in ["b/2.wav", "a/1.wav", "a/sub/0.WAV", "c.flac"]:
        _wav(tmp_path / rel)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "a" / ".hidden.wav").write_bytes(b"")
    got = [p.relative_to(tmp_path).as_posix() for p in list_wavs(tmp_path)]
    assert got == ["a/1.wav", "a/sub/0.WAV", "b/2.wav", "c.flac"]


def test_list_wavs_errors(tmp_path):
    with pytest.raises(InputError, match=r"nope: audio folder not found"):
        list_wavs(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: no audio files"):
        list_wavs(tmp_path / "empty")
    _wav(tmp_path / "f.wav")
    with pytest.raises(InputError, match=r"f\.wav: expected a folder"):
        list_wavs(tmp_path / "f.wav")


# --- LJSpeech -------------------------------------------------------------------

def _ljspeech(root, n=3):
    rows = []
    for i in range(1, n + 1):
        tag = f"LJ001-{i:04d}"
        _wav(root / "wavs" / f"{tag}.wav")
        rows.append(f"{tag}|Text {i}, 1st.|Text {i}, first.")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


def test_read_ljspeech(tmp_path):
    root = _ljspeech(tmp_path / "LJSpeech-1.1")
    items = read_ljspeech(root)
    assert [t for t, _, _ in items] == ["LJ001-0001", "LJ001-0002", "LJ001-0003"]
    assert items[1][1] == root / "wavs" / "LJ001-0002.wav"
    assert items[1][2] == "Text 2, first."  # normalised column


def test_read_ljspeech_unlisted_wav_kept_with_empty_text(tmp_path, capsys):
    root = _ljspeech(tmp_path / "lj", n=2)
    _wav(root / "wavs" / "LJ001-0009.wav")
    items = read_ljspeech(root)
    assert [(t, txt) for t, _, txt in items][-1] == ("LJ001-0009", "")
    assert "1 wavs have no row in metadata.csv" in capsys.readouterr().err
    assert len(read_ljspeech(root, require_text=True)) == 2


def test_read_ljspeech_errors(tmp_path):
    with pytest.raises(InputError, match=r"missing: LJSpeech folder not found"):
        read_ljspeech(tmp_path / "missing")
    root = _ljspeech(tmp_path / "lj")
    (root / "metadata.csv").unlink()
    with pytest.raises(InputError, match=r"metadata\.csv: metadata\.csv .* not found"):
        read_ljspeech(root)
    root = _ljspeech(tmp_path / "lj2")
    (root / "wavs" / "LJ001-0002.wav").unlink()
    with pytest.raises(InputError, match=r"metadata\.csv: 1 of 3 listed audio files are missing"):
        read_ljspeech(root)
    assert len(read_ljspeech(root, allow_missing=True)) == 2
    (root / "metadata.csv").write_text("LJ001-0001 no separator\n")
    with pytest.raises(InputError, match=r"line 1 is not 'id\|text\|normalized text'"):
        read_ljspeech(root)
    (root / "metadata.csv").write_text("")
    with pytest.raises(InputError, match=r"metadata\.csv .* is empty"):
        read_ljspeech(root)


def test_read_ljspeech_reads_synthetic_corpus(tmp_path):
    paths = make_corpus(tmp_path / "syn", n_utterances=2, seconds_per_utt=(0.6, 0.8))
    items = read_ljspeech(tmp_path / "syn")
    assert [p for _, p, _ in items] == sorted(paths)


# --- CMU ARCTIC -------------------------------------------------------------------

def _arctic(root, spk="slt", n=2):
    d = root / f"cmu_us_{spk}_arctic"
    lines = []
    for i in range(1, n + 1):
        _wav(d / "wav" / f"arctic_a{i:04d}.wav")
        lines.append(f'( arctic_a{i:04d} "Sentence number {i}, with a comma." )')
    (d / "etc").mkdir(parents=True)
    (d / "etc" / "txt.done.data").write_text("\n".join(lines) + "\n")
    return d


def test_read_cmu_arctic(tmp_path):
    _arctic(tmp_path, "slt")
    _arctic(tmp_path, "bdl", n=1)
    items = read_cmu_arctic(tmp_path)
    assert [t for t, _, _ in items] == ["bdl_arctic_a0001", "slt_arctic_a0001", "slt_arctic_a0002"]
    assert items[2][2] == "Sentence number 2, with a comma."
    one = read_cmu_arctic(tmp_path / "cmu_us_slt_arctic")  # a single speaker folder
    assert len(one) == 2 and one[0][1].name == "arctic_a0001.wav"


def test_read_cmu_arctic_errors(tmp_path):
    with pytest.raises(InputError, match=r"no CMU ARCTIC speaker folder"):
        read_cmu_arctic(tmp_path)
    d = _arctic(tmp_path, "slt")
    (d / "etc" / "txt.done.data").unlink()
    with pytest.raises(InputError, match=r"txt\.done\.data: prompt file .* not found"):
        read_cmu_arctic(tmp_path)
    (d / "etc" / "txt.done.data").write_text("arctic_a0001 missing parentheses\n")
    with pytest.raises(InputError, match=r"line 1 is not"):
        read_cmu_arctic(d)
    (d / "etc" / "txt.done.data").write_text('( arctic_a0009 "no wav for me" )\n')
    with pytest.raises(InputError, match=r"1 of 1 listed audio files are missing"):
        read_cmu_arctic(d)


# --- ESC-50 -----------------------------------------------------------------------

def _esc50(root):
    rows = [("1-100032-A-0.wav", 1, 0, "dog"), ("1-115545-A-48.wav", 1, 48, "fireworks"),
            ("2-102414-A-17.wav", 2, 17, "pouring_water"), ("3-100024-A-43.wav", 3, 43, "car_horn")]
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    for name, fold, target, cat in rows:
        # the car horn sounds for 0.2 s, then silence (ESC-50 pads clips to 5 s)
        _wav(root / "audio" / name, seconds=1.0, silent_after=0.2 if cat == "car_horn" else None)
        lines.append(f"{name},{fold},{target},{cat},False,{name.split('-')[1]},A")
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    return root


def test_read_esc50_and_filters(tmp_path):
    root = _esc50(tmp_path / "ESC-50")
    items = read_esc50(root)
    assert [(p.name, c, f) for p, c, f in items][0] == ("1-100032-A-0.wav", "dog", 1)
    env = read_esc50(root, categories=ESC50_ENVIRONMENTAL_CLASSES)
    assert [c for _, c, _ in env] == ["fireworks", "pouring_water", "car_horn"]
    loud = read_esc50(root, categories=ESC50_ENVIRONMENTAL_CLASSES, min_seconds=0.5)
    assert [c for _, c, _ in loud] == ["fireworks", "pouring_water"]
    assert [f for _, _, f in read_esc50(root, categories="car_horn")] == [3]


def test_read_esc50_errors(tmp_path):
    root = _esc50(tmp_path / "esc")
    with pytest.raises(InputError, match=r"unknown categories \['dgo'\]"):
        read_esc50(root, categories=["dgo"])
    with pytest.raises(InputError, match=r"no clips of categories \['rain'\]"):
        read_esc50(root, categories=["rain"])
    (root / "audio" / "1-100032-A-0.wav").unlink()
    with pytest.raises(InputError, match=r"esc50\.csv: 1 of 4 listed audio files are missing"):
        read_esc50(root)
    assert len(read_esc50(root, allow_missing=True)) == 3
    (root / "meta" / "esc50.csv").write_text("name,class\nx.wav,dog\n")
    with pytest.raises(InputError, match=r"esc50\.csv: needs the columns"):
        read_esc50(root)
    (root / "meta" / "esc50.csv").unlink()
    with pytest.raises(InputError, match=r"meta/esc50\.csv: meta/esc50\.csv \(ESC-50 layout\) not found"):
        read_esc50(root)


def test_esc50_class_lists():
    assert len(ESC50_CLASSES) == 50 and ESC50_CLASSES.index("car_horn") == 43
    assert ESC50_CLASSES.index("thunderstorm") == 19
    assert len(ESC50_ENVIRONMENTAL_CLASSES) == 20
    assert set(ESC50_ENVIRONMENTAL_CLASSES) <= set(ESC50_CLASSES)


# --- McGill TSP -----------------------------------------------------------------------

def test_read_tsp_layouts(tmp_path):
    for rate in ("48k", "16k"):
        for name in ("MA/MA01_02.wav", "MA/MA01_01.wav", "FA/FA01_01.wav"):
            _wav(tmp_path / "TSP" / rate / name)
    items = read_tsp(tmp_path / "TSP")  # parent of rate folders: prefers 16k
    assert [(t, s) for t, _, s in items] == [("FA01_01", "FA"), ("MA01_01", "MA"), ("MA01_02", "MA")]
    assert items[0][1].parent.parent.name == "16k"
    assert read_tsp(tmp_path / "TSP", rate_folder="48k")[0][1].parent.parent.name == "48k"
    assert len(read_tsp(tmp_path / "TSP" / "48k")) == 3  # speaker folders directly


def test_read_tsp_errors(tmp_path):
    (tmp_path / "x" / "notaspeaker").mkdir(parents=True)
    with pytest.raises(InputError, match=r"x: no TSP speaker folders"):
        read_tsp(tmp_path / "x")
    (tmp_path / "y" / "48k" / "MA").mkdir(parents=True)
    with pytest.raises(InputError, match=r"y: TSP speaker folders hold no \.wav files"):
        read_tsp(tmp_path / "y")
    with pytest.raises(InputError, match=r"22k: TSP rate folder not found"):
        read_tsp(tmp_path / "y", rate_folder="22k")


# --- the real recordings ----------------------------------------------------------------

def test_real_ljspeech_sample(realdata):
    items = read_ljspeech(realdata / "ljspeech_sample")
    assert len(items) == 32
    assert items[0][0] == "LJ001-0001" and items[0][2].startswith("Printing, in the only sense")
    info = sf.info(str(items[-1][1]))
    assert info.samplerate == 22050 and info.channels == 1


def test_real_esc50_sample(realdata):
    root = realdata / "noise" / "esc50_sample"
    items = read_esc50(root)
    assert len(items) == 5 and all(p.is_file() for p, _, _ in items)
    assert {c for _, c, _ in items} == {"dog", "car_horn", "thunderstorm"}
    env = read_esc50(root, categories=ESC50_ENVIRONMENTAL_CLASSES)
    assert sorted(c for _, c, _ in env) == ["car_horn"] + ["thunderstorm"] * 3
    assert sorted(f for _, _, f in items) == [1, 2, 3, 4, 5]


def test_real_fsdd(realdata):
    files = list_wavs(realdata / "fsdd_8k")
    assert len(files) == 3000
    assert files == sorted(files) and all(p.suffix == ".wav" for p in files)
    assert sf.info(str(files[0])).samplerate == 8000
