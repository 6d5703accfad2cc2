"""Audio loading with validation, atomic writing and CLI error handling.

Every script of the toolkit reads audio through `load_audio` and writes
through `atomic_output`/`write_wav`, so bad input always produces one clear
line naming the file and the problem, and an interrupted run never leaves a
half-written file behind.
"""
import contextlib
import functools
import os
import sys
import tempfile
from pathlib import Path

import numpy as np


class InputError(ValueError):
    """Bad user input (file, layout, shape); the message names the file."""


class AudioInputError(InputError):
    """An audio file that cannot be used: message is '<path>: <problem>'."""


def notice(message):
    """One-line notice on stderr (downmixing, resampling, ...)."""
    print(f"note: {message}", file=sys.stderr)


def load_audio(path, sr=None, mono=True, allow_silence=False, min_samples=1):
    """Read an audio file as float32, validated.

    Args:
        path: str or Path.
        sr: int or None; resample to this rate if the file's differs (notice).
        mono: bool, default True; downmix multi-channel audio (notice).
        allow_silence: bool, default False; an all-zero signal is an error
            unless this is set.
        min_samples: int, minimum length after resampling.
    Returns:
        (x, sr): x float32 [n] (or [n, channels] when mono=False), the rate.
    Raises:
        AudioInputError: missing, empty, corrupt, NaN/Inf, silent or too short.
    """
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise AudioInputError(f"{path}: file not found")
    if path.is_dir():
        raise AudioInputError(f"{path}: is a folder, expected an audio file")
    if path.stat().st_size == 0:
        raise AudioInputError(f"{path}: file is empty")
    try:
        x, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises its own error types
        raise AudioInputError(f"{path}: cannot decode audio ({exc})") from None
    if x.shape[0] == 0:
        raise AudioInputError(f"{path}: contains no samples")
    if not np.all(np.isfinite(x)):
        raise AudioInputError(f"{path}: contains NaN or Inf samples")
    if mono:
        if x.shape[1] > 1:
            notice(f"{path}: {x.shape[1]} channels, downmixed to mono")
        x = x.mean(axis=1)
    if sr is not None and int(sr) != int(file_sr):
        notice(f"{path}: resampled from {file_sr} Hz to {sr} Hz")
        x = resample(x, file_sr, sr)
        file_sr = int(sr)
    if not allow_silence and not np.any(x):
        raise AudioInputError(f"{path}: audio is all zeros (silence)")
    if x.shape[0] < min_samples:
        raise AudioInputError(
            f"{path}: too short ({x.shape[0]} samples, need at least {min_samples})")
    return np.ascontiguousarray(x, dtype=np.float32), int(file_sr)


def resample(x, orig_sr, target_sr):
    """Band-limited resampling along the first axis (soxr via librosa)."""
    if int(orig_sr) == int(target_sr):
        return np.asarray(x, dtype=np.float32)
    import librosa

    y = librosa.resample(np.asarray(x, dtype=np.float32).T, orig_sr=orig_sr,
                         target_sr=target_sr, res_type="soxr_hq")
    return np.ascontiguousarray(y.T, dtype=np.float32)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside `path`; rename it to `path` on success.

    On any exception the temporary file is removed and nothing appears at
    `path`, so an interrupted run never leaves a partial output.  The parent
    folder must exist (an unwritable or missing folder raises InputError).
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: output folder {parent} is not writable")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix,
                               dir=parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs are ordinary files
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_wav(path, x, sr, subtype="PCM_16"):
    """Write mono or [n, channels] audio atomically (clipped to [-1, 1])."""
    import soundfile as sf

    x = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: refusing to write NaN/Inf samples")
    with atomic_output(path) as tmp:
        sf.write(str(tmp), np.clip(x, -1.0, 1.0), int(sr), subtype=subtype,
                 format="WAV")


def cli_main(fn):
    """Decorator for a script's main(): bad input -> one line, exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
