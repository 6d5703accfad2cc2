"""Audio loading with validation, atomic writing and CLI error handling.

Every script of the toolkit reads audio through `load_audio` and writes
through `atomic_output`/`write_wav`, so bad input always produces one clear
line naming the file and the problem, and an interrupted run never leaves a
half-written file behind.

Cheap to import (numpy; soundfile and soxr add ~10 ms): the fast CLIs
(get_mfcc.py) use it.
"""
import contextlib
import functools
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr


class InputError(ValueError):
    """Bad user input (file, layout, shape); the message names the file."""


class AudioInputError(InputError):
    """An audio file that cannot be used: message is '<path>: <problem>'."""


class AudioTooShortError(AudioInputError):
    """A valid audio file shorter than `load_audio`'s ``min_samples`` (callers may skip it)."""


CONVERSION_NOTICE = "audio-conversion"  # the notice key of load_audio's downmixing/resampling


_NOTICE_COUNTS = {}  # key -> notices of that kind so far (see `notice`)


def notice(message, key=None):
    """One-line notice on stderr (downmixing, resampling, ...).

    Args:
        message: str, printed as ``note: <message>``.
        key: None (always printed) or a kind of notice: only the first notice
            of a key is printed in this process, later ones are only counted
            (`notice_count`), so a folder of 568 resampled files gives one line.
    Returns:
        bool, whether the notice was printed.

    When tqdm is loaded a progress bar may be on screen: the notice then goes
    through tqdm.write, which keeps the bar intact. (tqdm is not imported here:
    it costs 25-60 ms, a third of get_mfcc.py's whole start-up.)
    """
    if key is not None:
        _NOTICE_COUNTS[key] = _NOTICE_COUNTS.get(key, 0) + 1
        if _NOTICE_COUNTS[key] > 1:
            return False
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(f"note: {message}", file=sys.stderr)
    else:
        print(f"note: {message}", file=sys.stderr)
    return True


def notice_count(key):
    """How many notices of kind `key` were given (printed or not) in this process."""
    return _NOTICE_COUNTS.get(key, 0)


def reset_notices():
    """Forget the notices given so far: the next one of each kind is printed again."""
    _NOTICE_COUNTS.clear()


def check_input_file(path, expected, error=InputError, missing="file not found"):
    """`path` as a Path; `error` naming it when it is missing, a folder or empty.

    Args:
        path: the input file.
        expected: what it should be, for the message (e.g. "a .npz file").
        error: the InputError subclass raised.
        missing: the message when it does not exist.
    """
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: {missing}")
    if path.is_dir():
        raise error(f"{path}: is a folder, expected {expected}")
    if path.stat().st_size == 0:
        raise error(f"{path}: file is empty")
    return path


def _wav_truncation(path):
    """``(announced, present)`` bytes of a WAV data chunk cut short, else None.

    libsndfile reads a truncated WAV without complaint (it returns the samples
    that are there); the RIFF header still says how many bytes were written.
    A streamed WAV (size 0 or 0xFFFFFFFF: unknown) is not checked.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        size = os.fstat(fh.fileno()).st_size
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, length = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                present = size - pos - 8
                if length in (0, 0xFFFFFFFF) or present >= length:
                    return None
                return length, present
            pos += 8 + length + (length & 1)
    return None


def load_audio(path, sr=None, mono=True, allow_silence=False, min_samples=1):
    """Read an audio file as float32, validated.

    Args:
        path: str or Path.
        sr: int or None; resample to this rate if the file's differs.
        mono: bool, default True; downmix multi-channel audio. A conversion
            gives a notice, once per process (key CONVERSION_NOTICE).
        allow_silence: bool, default False; an all-zero signal is an error
            unless this is set.
        min_samples: int, minimum length after resampling.
    Returns:
        (x, sr): x float32 [n] (or [n, channels] when mono=False), the rate.
    Raises:
        AudioInputError: missing, a folder, empty, corrupt, truncated, NaN/Inf,
            silent or too short (AudioTooShortError).
    """
    path = check_input_file(path, "an audio file", AudioInputError)
    try:
        x, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises its own error types
        reason = str(exc).replace(f"Error opening {str(path)!r}: ", "")  # the path is said once
        raise AudioInputError(f"{path}: cannot decode audio ({reason})") from None
    if x.shape[0] == 0:
        raise AudioInputError(f"{path}: contains no samples")
    cut = _wav_truncation(path)
    if cut is not None:
        raise AudioInputError(f"{path}: truncated (the header announces {cut[0]} bytes of "
                              f"audio, the file holds {cut[1]})")
    if not np.all(np.isfinite(x)):
        raise AudioInputError(f"{path}: contains NaN or Inf samples")
    changes = []
    if mono:
        if x.shape[1] > 1:
            changes.append(f"{x.shape[1]} channels downmixed to mono")
        x = x.mean(axis=1)
    if sr is not None and int(sr) != int(file_sr):
        changes.append(f"resampled from {file_sr} Hz to {sr} Hz")
        x = resample(x, file_sr, sr)
        file_sr = int(sr)
    if not allow_silence and not np.any(x):
        raise AudioInputError(f"{path}: audio is all zeros (silence)")
    if x.shape[0] < min_samples:
        raise AudioTooShortError(
            f"{path}: too short ({x.shape[0]} samples at {file_sr} Hz, need at least {min_samples})")
    if changes:  # after the checks: a refused file gets its one error line only
        notice(f"{path}: {', '.join(changes)} (further files are converted without a note)",
               key=CONVERSION_NOTICE)
    return np.ascontiguousarray(x, dtype=np.float32), int(file_sr)


def resample(x, orig_sr, target_sr):
    """Band-limited resampling along the first axis (soxr, high quality).

    The same samples as librosa.resample(..., res_type="soxr_hq") (soxr per
    channel, length ceil(n * target_sr / orig_sr)), without importing librosa's
    resampling module, which costs get_mfcc.py seconds of start-up (numba).
    """
    x = np.asarray(x, dtype=np.float32)
    if int(orig_sr) == int(target_sr):
        return x
    n_out = int(np.ceil(x.shape[0] * float(target_sr) / orig_sr))
    columns = x.reshape(x.shape[0], -1)
    y = np.zeros((n_out, columns.shape[1]), dtype=np.float32)
    for c in range(columns.shape[1]):
        out = soxr.resample(np.ascontiguousarray(columns[:, c]), orig_sr, target_sr,
                            quality="soxr_hq")
        y[:min(n_out, len(out)), c] = out[:n_out]
    return y.reshape((n_out,) + x.shape[1:])


def check_output(path):
    """The folder that will hold output file `path`; InputError unless it exists and is writable.

    `atomic_output` checks this itself; a command calls it early so that a long run
    stops before its work, not after it.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: output folder {parent} is not writable")
    return parent


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside `path`; rename it to `path` on success.

    On any exception the temporary file is removed and nothing appears at
    `path`, so an interrupted run never leaves a partial output.  The parent
    folder must exist (an unwritable or missing folder raises InputError).
    The temporary name ends in the last two suffixes of `path` (e.g.
    `.weights.h5`), so writers that check the extension (Keras) accept it.
    """
    path = Path(path)
    parent = check_output(path)
    suffix = ".tmp" + "".join(path.suffixes[-2:])
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=parent)
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
    x = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise InputError(f"{path}: refusing to write NaN/Inf samples")
    with atomic_output(path) as tmp:
        sf.write(str(tmp), np.clip(x, -1.0, 1.0), int(sr), subtype=subtype,
                 format="WAV")


def write_json(path, obj, sort_keys=False):
    """Write `obj` as indented JSON (Paths and other objects as str), atomically."""
    text = json.dumps(obj, indent=2, sort_keys=sort_keys, default=str) + "\n"
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text)


def _clear_progress_bars():
    """Erase the tqdm bars an error left open, so the error line starts a line of its own."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is None:
        return
    for bar in list(getattr(tqdm.tqdm, "_instances", ())):
        bar.leave = False
        bar.close()


def cli_main(fn):
    """Decorator for a script's main(): bad input -> one line, exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (InputError, OSError, ValueError) as exc:
            _clear_progress_bars()
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        except KeyboardInterrupt:
            _clear_progress_bars()
            print("error: interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
