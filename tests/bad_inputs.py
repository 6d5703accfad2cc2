"""One shared set of bad inputs for every CLI (issue 22), written into a given folder.

Every command that reads audio, features or models is run on the same bad inputs
(tests/test_bad_input_matrix.py) and must refuse each with exactly one line on
stderr naming the file and the problem, a non-zero exit, no traceback and nothing
written under its output folder; the inputs it must accept (stereo, other rates,
8/24-bit) are accepted with one notice in total.

`make_bad_inputs(folder)` writes the audio cases, a folder of inputs to accept, a
NetCDF file without a variable; `make_npz_cases` spectrogram archives;
`truncated_keras` a checkpoint cut short; `unwritable` makes an output folder
read-only for a while. numpy, soundfile and scipy only: no Keras.
"""
import contextlib
import io
import json
import os
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.io import netcdf_file

# Audio files a command must refuse, and those it must accept (with one notice in total).
AUDIO_REFUSED = ("empty", "header_only", "truncated", "not_audio", "nan_inf", "zeros",
                 "one_sample", "folder_as_file")
AUDIO_ACCEPTED = ("stereo_44k", "pcm8", "pcm24")
# The words (any of them, lower case) a refusal of each case must contain besides the file name.
PROBLEM_WORDS = {
    "empty": ("empty",), "header_only": ("no samples", "empty"), "truncated": ("truncated",),
    "not_audio": ("cannot decode", "not a readable", "not a valid", "not a .npz", "format not recognised"),
    "nan_inf": ("nan",), "zeros": ("zeros", "silen"), "one_sample": ("too short", "short"),
    "folder_as_file": ("folder", "directory", "no audio", "no .wav"),
    "unwritable": ("not writable", "permission", "not permitted", "read-only"),
    "missing_model": ("not found", "missing", "no such"),
    "truncated_keras": ("cannot load", "truncated", "not a keras", "corrupt"),
    "netcdf_missing_variable": ("missing variable",),
    "not_npz": ("not a .npz",), "missing_key": ("no 'spec'", "no 'mel'", "missing"),
    "one_frame": ("frame", "short"),
}


@dataclass
class BadInputs:
    """Paths of the generated cases (see `make_bad_inputs`).

    Attributes:
        root: the folder holding everything.
        audio: {case: path} for AUDIO_REFUSED; each file sits alone in its own
            folder (``path.parent``), for commands that read a folder.
        accepted: {case: path} for AUDIO_ACCEPTED, all in the folder ``accepted_dir``
            with two more stereo 44.1 kHz copies (a folder of 5 files to convert).
        missing_model_dir: a folder that does not exist.
        truncated_keras: ``model.keras``, the first half of a checkpoint (`truncated_keras`).
        netcdf_dir: a folder holding ``data.nc1`` without its ``inputs`` variable.
        readonly_dir: an empty output folder; `unwritable` makes it read-only for a while.
        seconds: length of the valid signals.
    """

    root: Path
    audio: dict
    accepted: dict
    accepted_dir: Path
    missing_model_dir: Path
    truncated_keras: Path
    netcdf_dir: Path
    readonly_dir: Path
    seconds: float


def speech_like(seconds=1.0, sr=16000, channels=1, seed=0):
    """A voiced buzz through two resonances, peak 0.5, float32 ``[n]`` or ``[n, channels]``."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 30) if k * 140 < sr / 2)
    x = x * (1 + 0.3 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(n)
    x = (0.5 * x / np.max(np.abs(x))).astype(np.float32)
    return np.stack([x * (1 - 0.2 * c) for c in range(channels)], axis=1) if channels > 1 else x


def write_wav(path, x, sr, subtype="PCM_16"):
    """Write `x` with soundfile (no validation: the cases are meant to be bad)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x, sr, subtype=subtype, format="WAV")
    return path


def make_audio_cases(folder, sr=16000, seconds=1.0):
    """Every refused audio case as ``folder/<case>/<case>.wav``; returns {case: path}."""
    folder = Path(folder)
    paths = {case: folder / case / f"{case}.wav" for case in AUDIO_REFUSED}
    for case, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
    x = speech_like(seconds, sr)
    paths["empty"].write_bytes(b"")
    write_wav(paths["header_only"], np.zeros(0, np.float32), sr)          # 44-byte header, no data
    full = io.BytesIO()
    sf.write(full, x, sr, subtype="PCM_16", format="WAV")
    paths["truncated"].write_bytes(full.getvalue()[:44 + 2 * len(x) // 3 + 1])  # header says more
    paths["not_audio"].write_bytes(b"These bytes are text, not audio.\n" * 40)
    bad = x.copy()
    bad[100], bad[200] = np.nan, np.inf
    write_wav(paths["nan_inf"], bad, sr, subtype="FLOAT")
    write_wav(paths["zeros"], np.zeros_like(x), sr)
    write_wav(paths["one_sample"], x[:1] + 0.25, sr)
    paths["folder_as_file"].mkdir()
    return paths


def make_accepted(folder, seconds=1.0):
    """Stereo 44.1 kHz (three files), 8-bit at 22.05 kHz and 24-bit at 16 kHz in `folder`."""
    folder = Path(folder)
    paths = {"stereo_44k": write_wav(folder / "stereo_44k.wav", speech_like(seconds, 44100, 2), 44100),
             "pcm8": write_wav(folder / "pcm8.wav", speech_like(seconds, 22050, seed=1), 22050, "PCM_U8"),
             "pcm24": write_wav(folder / "pcm24.wav", speech_like(seconds, 16000, seed=2), 16000, "PCM_24")}
    for k in (2, 3):
        write_wav(folder / f"stereo_44k_{k}.wav", speech_like(seconds, 44100, 2, seed=k), 44100)
    return paths


NPZ_REFUSED = ("empty", "not_npz", "truncated", "nan_inf", "folder_as_file", "missing_key", "one_frame")


def make_npz_cases(folder, key="spec", bins=1025, frames=40):
    """Spectrogram ``.npz`` files (``key`` [frames, bins] in [0, 1]) a command must refuse.

    ``missing_key`` holds another array only; ``one_frame`` a single frame. Returns
    ``({case: path}, good_path)``: each bad file sits alone in ``folder/<case>/``.
    """
    folder = Path(folder)
    rng = np.random.default_rng(0)
    spec = rng.uniform(0.2, 0.8, (frames, bins)).astype(np.float32)
    paths = {case: folder / case / f"{case}.npz" for case in NPZ_REFUSED}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    good = folder / "good" / "good.npz"
    good.parent.mkdir(parents=True, exist_ok=True)
    np.savez(good, **{key: spec})
    paths["empty"].write_bytes(b"")
    paths["not_npz"].write_bytes(b"These bytes are text, not a numpy archive.\n" * 40)
    data = good.read_bytes()
    paths["truncated"].write_bytes(data[:len(data) // 2])
    bad = spec.copy()
    bad[3, 5], bad[7, 9] = np.nan, np.inf
    np.savez(paths["nan_inf"], **{key: bad})
    paths["folder_as_file"].mkdir()
    np.savez(paths["missing_key"], other=spec)
    np.savez(paths["one_frame"], **{key: spec[:1]})
    return paths, good


def truncated_keras(path, source=None):
    """Write the first half of a ``.keras`` checkpoint (of `source`, else of a small stand-in zip)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        data = Path(source).read_bytes()
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
            z.writestr("config.json", json.dumps({"class_name": "Functional", "config": {}}))
            z.writestr("model.weights.h5", np.random.default_rng(0).bytes(4096))
        data = buf.getvalue()
    path.write_bytes(data[:len(data) // 2])
    return path


def netcdf_missing_variable(path, missing="inputs"):
    """A CURRENNT data file with every variable but `missing` (3 utterances of 4 frames)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n, n_in, n_out = 12, 22, 400
    tags = np.zeros((3, 8), "S1")
    for i in range(3):
        tags[i, :5] = np.frombuffer(f"utt_{i}".encode(), "S1")
    arrays = {"seqTags": ("c", ("numSeqs", "maxSeqTagLength"), tags),
              "seqLengths": ("i", ("numSeqs",), np.full(3, 4, np.int32)),
              "inputs": ("f", ("numTimesteps", "inputPattSize"), rng.normal(size=(n, n_in))),
              "targetPatterns": ("f", ("numTimesteps", "targetPattSize"), rng.normal(size=(n, n_out))),
              "inputMeans": ("f", ("inputPattSize",), np.zeros(n_in)),
              "inputStdevs": ("f", ("inputPattSize",), np.ones(n_in)),
              "outputMeans": ("f", ("targetPattSize",), np.zeros(n_out)),
              "outputStdevs": ("f", ("targetPattSize",), np.ones(n_out))}
    f = netcdf_file(str(path), "w", version=1)
    try:
        for dim, size in (("numSeqs", 3), ("numTimesteps", n), ("inputPattSize", n_in),
                          ("targetPattSize", n_out), ("maxSeqTagLength", 8)):
            f.createDimension(dim, size)
        for name, (kind, dims, value) in arrays.items():
            if name != missing:
                f.createVariable(name, kind, dims)[:] = value
    finally:
        f.close()
    return path


def make_bad_inputs(folder, sr=16000, seconds=1.0):
    """Write every case of the matrix under `folder`; returns a `BadInputs`."""
    root = Path(folder)
    (root / "readonly").mkdir(parents=True, exist_ok=True)
    return BadInputs(root=root, audio=make_audio_cases(root / "audio", sr, seconds),
                     accepted=make_accepted(root / "accepted", seconds),
                     accepted_dir=root / "accepted", missing_model_dir=root / "no_such_models",
                     truncated_keras=truncated_keras(root / "truncated_keras" / "model.keras"),
                     netcdf_dir=netcdf_missing_variable(root / "netcdf" / "data.nc1").parent,
                     readonly_dir=root / "readonly", seconds=seconds)


# --------------------------------------------------------------------------- output folders

@contextlib.contextmanager
def unwritable(folder):
    """Make `folder` unwritable while the block runs (root ignores modes: it gets ``chattr +i``).

    Yields the folder, or None when this system cannot make it unwritable.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    cmd = ["chattr", "+i", str(folder)] if as_root else None
    try:
        if cmd:
            ok = subprocess.run(cmd, capture_output=True).returncode == 0
        else:
            folder.chmod(0o555)
            ok = True
        ok = ok and not os.access(folder, os.W_OK)
        yield folder if ok else None
    finally:
        if cmd:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        else:
            folder.chmod(0o755)


def files_under(folder):
    """Every file (not folder) under `folder`, relative, sorted; [] if it does not exist."""
    folder = Path(folder)
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())
