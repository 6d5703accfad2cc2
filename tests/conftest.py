"""Session-wide test setup: quiet TensorFlow, numba cache in the clone, shared fixtures.

The environment defaults are set before any toolkit import (they must precede Keras).
"""
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("NUMBA_CACHE_DIR",
                      str(Path(__file__).resolve().parent.parent / ".numba_cache"))
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from corpus.synth import make_corpus  # noqa: E402

REALDATA_ENV = "AUDIOSYNTH_REALDATA"


@pytest.fixture(scope="session")
def realdata():
    """Path to the real recordings (see ../shared/realdata/README.md).

    Skips when AUDIOSYNTH_REALDATA is unset (a developer machine without the
    recordings); fails loudly when it is set but the folder is missing, so CI
    (which sets it) can never silently skip the real-data checks.
    """
    value = os.environ.get(REALDATA_ENV)
    if not value:
        pytest.skip(f"{REALDATA_ENV} is not set (CI sets it to ../shared/realdata)")
    path = Path(value)
    if not (path / "README.md").is_file():
        pytest.fail(f"{REALDATA_ENV}={value} but no real-data folder is there")
    return path


class RecordingPython:
    """A stand-in `python` that logs its arguments (one line per call) instead of running.

    ``env`` puts it first on PATH and sets ``$PYTHON`` to it, so a stage script run with
    ``env`` shows which commands it would run, cheaply.
    """

    def __init__(self, folder):
        bin_dir = folder / "recording_bin"
        bin_dir.mkdir()
        self.log = folder / "python_calls.log"
        exe = bin_dir / "python"
        exe.write_text(f'#!/usr/bin/env bash\necho "$*" >> "{self.log}"\n')
        exe.chmod(0o755)
        self.env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHON=str(exe))

    def calls(self, clear=False):
        """The argument strings of the calls so far (then forgotten when `clear`)."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        if clear:
            self.log.unlink(missing_ok=True)
        return lines


@pytest.fixture
def recording_python(tmp_path):
    """A `RecordingPython` in the test's temporary folder."""
    return RecordingPython(tmp_path)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A small deterministic synthetic corpus (16 kHz) with ground truth.

    Layout: wav/<tag>.wav, truth/<tag>.npz (f0, voiced, gci, lpc, frame_hop,
    sr), metadata.csv (LJSpeech layout).
    """
    out = tmp_path_factory.mktemp("tiny_corpus")
    make_corpus(out, n_utterances=4, seconds_per_utt=(1.0, 1.5), sr=16000, seed=0)
    return out


def pytest_configure(config):
    """Compile librosa's cached numba gufuncs in the controller, once, before pytest-xdist starts its workers.

    Two workers compiling the same ``guvectorize(cache=True)`` function at once can leave the cache with the
    two files of that function written by different processes; the next load then segfaults (numba issue
    10128: seen as a worker crash inside ``librosa.util.localmin`` under ``pyin`` in a fresh clone). Compiled
    and cached here first, the workers only load them.
    """
    if hasattr(config, "workerinput"):      # an xdist worker: the controller has done it
        return
    import librosa
    import numpy as np

    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(8000) / 16000)).astype(np.float32)
    librosa.pyin(tone, fmin=100, fmax=400, sr=16000, frame_length=1024)   # pitch gufuncs, localmin/localmax
    librosa.beat.beat_track(y=tone, sr=16000)
    librosa.zero_crossings(tone)
