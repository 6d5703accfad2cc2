"""get_mfcc.py, the command: one file, a folder, bad input, --help and its start-up."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.dsp.test_dsp_mfcc import SR, vowel

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args):
    return subprocess.run([sys.executable, "get_mfcc.py", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def error_lines(proc):
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]


def write_vowel(path, formants, seconds=0.5, sr=SR, seed=0):
    x, _ = vowel(formants, seconds=seconds, seed=seed)
    sf.write(str(path), (0.5 * x / np.abs(x).max()).astype(np.float32), sr)
    return len(x)


@pytest.fixture
def folder(tmp_path):
    """Three short vowels (one of them at 22.05 kHz, resampled) in tmp_path/wavs."""
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    write_vowel(wavs / "a.wav", [(700, 80), (1200, 90)])
    write_vowel(wavs / "b.wav", [(300, 60), (2300, 100)], seconds=0.31, seed=1)
    write_vowel(wavs / "c.wav", [(500, 80), (1500, 100)], seconds=0.4, sr=22050, seed=2)
    (wavs / "notes.txt").write_text("not audio, ignored")
    return wavs


def test_cli_writes_raw_float32_files_and_plot(tmp_path):
    n = write_vowel(tmp_path / "v.wav", [(700, 80), (1200, 90)])
    wav = tmp_path / "v.wav"
    out = [tmp_path / "v.lsf", tmp_path / "v.mfcc", tmp_path / "v.png"]
    proc = run_cli(f"--input_file={wav}", f"--lsf_file={out[0]}", f"--mfcc_file={out[1]}",
                   "--plot", out[2])
    assert proc.returncode == 0, proc.stderr
    frames = int(np.ceil(n / 80))
    lsf = np.fromfile(out[0], dtype=np.float32).reshape(-1, 30)
    mfcc = np.fromfile(out[1], dtype=np.float32).reshape(-1, 20)
    assert lsf.shape == (frames, 30) and mfcc.shape == (frames, 20)
    assert out[2].read_bytes()[:4] == b"\x89PNG"
    # bad inputs: one line naming the file, non-zero exit, no outputs
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"garbage")
    for args, needle in [([f"--input_file={bad}"], "cannot decode"),
                         ([f"--input_file={tmp_path / 'none.wav'}"], "not found")]:
        target = tmp_path / "bad.lsf"
        proc = run_cli(*args, f"--lsf_file={target}")
        assert proc.returncode != 0
        lines = error_lines(proc)
        assert len(lines) == 1 and needle in lines[0] and str(args[0].split("=")[1]) in lines[0]
        assert not target.exists()
    proc = run_cli(f"--input_file={wav}", f"--lsf_file={tmp_path / 'nodir' / 'x.lsf'}")
    assert proc.returncode != 0 and "does not exist" in proc.stderr


def test_folder_gives_the_files_of_per_file_runs(tmp_path, folder):
    out = tmp_path / "out"  # created by the run
    proc = run_cli("--input_dir", folder, "--output_dir", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "a.lsf", "a.mfcc", "b.lsf", "b.mfcc", "c.lsf", "c.mfcc"]
    for stem in "abc":
        one = tmp_path / "one"
        one.mkdir(exist_ok=True)
        proc = run_cli(f"--input_file={folder / f'{stem}.wav'}", f"--lsf_file={one / 'x.lsf'}",
                       f"--mfcc_file={one / 'x.mfcc'}")
        assert proc.returncode == 0, proc.stderr
        assert (out / f"{stem}.lsf").read_bytes() == (one / "x.lsf").read_bytes()
        assert (out / f"{stem}.mfcc").read_bytes() == (one / "x.mfcc").read_bytes()


def test_folder_with_a_bad_file_writes_nothing(tmp_path, folder):
    (folder / "b2_bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    out = tmp_path / "out"
    proc = run_cli("--input_dir", folder, "--output_dir", out)
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 1 and str(folder / "b2_bad.wav") in lines[0], proc.stderr
    assert not out.exists()  # created for the run, removed again: no trace
    out.mkdir()
    proc = run_cli("--input_dir", folder, "--output_dir", out)
    assert proc.returncode == 1 and list(out.iterdir()) == []  # not even a temporary file
    # --skip_bad: the bad file is named on one line, the others are written
    proc = run_cli("--input_dir", folder, "--output_dir", out, "--skip_bad")
    assert proc.returncode == 0, proc.stderr
    skipped = [ln for ln in proc.stderr.splitlines() if "skipped:" in ln]
    assert len(skipped) == 1 and "b2_bad.wav" in skipped[0]
    assert sorted(p.stem for p in out.glob("*.lsf")) == ["a", "b", "c"]


@pytest.mark.parametrize("args,needle", [
    (["--output_dir", "{tmp}/o"], "one of the arguments --input_file --input_dir is required"),
    (["--input_dir", "{tmp}"], "--input_dir needs --output_dir"),
    (["--input_dir", "{tmp}", "--output_dir", "{tmp}/o"], "no .wav files"),
    (["--input_dir", "{tmp}/missing", "--output_dir", "{tmp}/o"], "input folder not found"),
    (["--input_dir", "{tmp}", "--output_dir", "{tmp}/o", "--plot", "{tmp}/x.png"], "--plot"),
    (["--input_file", "{tmp}/x.wav", "--output_dir", "{tmp}/o"], "go with --input_dir"),
])
def test_folder_flag_mistakes_are_one_line(tmp_path, args, needle):
    proc = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode != 0 and needle in proc.stderr, proc.stderr
    assert not (tmp_path / "o").exists()


def test_cli_help_documents_every_flag():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for flag in ["--input_file", "--lsf_file", "--mfcc_file", "--sample_rate", "--win_length",
                 "--hop_size", "--lsf_order", "--mel_filters", "--mfcc_order", "--nfft", "--plot",
                 "--input_dir", "--output_dir", "--skip_bad"]:
        assert flag in proc.stdout


def test_cli_imports_no_heavy_module():
    """The start-up bar (--help within 2x of `import numpy`) holds because get_mfcc
    imports neither scipy, matplotlib, librosa's numba-backed core, tqdm nor Keras."""
    heavy = ("scipy", "matplotlib", "numba", "librosa.core", "tqdm", "keras", "tensorflow")
    code = (f"import sys, get_mfcc; heavy = {heavy!r}; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
