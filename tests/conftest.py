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


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A small deterministic synthetic corpus (16 kHz) with ground truth.

    Layout: wav/<tag>.wav, truth/<tag>.npz (f0, voiced, gci, lpc, frame_hop,
    sr), metadata.csv (LJSpeech layout).
    """
    out = tmp_path_factory.mktemp("tiny_corpus")
    make_corpus(out, n_utterances=4, seconds_per_utt=(1.0, 1.5), sr=16000, seed=0)
    return out
