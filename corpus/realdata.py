"""Where the real recordings live: ``$AUDIOSYNTH_REALDATA``, else ``../shared/realdata``.

The real corpora (LJSpeech sample, FSDD, asterisk16k, noises) are never copied into
the repository; every pipeline finds them through this one function so that a
fresh clone beside ``shared/`` works without setting the variable.
"""
import os
from pathlib import Path

ENV_VAR = "AUDIOSYNTH_REALDATA"


def realdata_root():
    """The real-data folder.

    Returns:
        Path: ``$AUDIOSYNTH_REALDATA`` when set, else ``../shared/realdata`` relative to
        the repository (it may not exist; callers report a missing corpus by name).
    """
    root = os.environ.get(ENV_VAR)
    if root:
        return Path(root)
    repo = Path(__file__).resolve().parent.parent
    return (repo.parent / "shared" / "realdata").resolve()
