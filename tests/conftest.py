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
