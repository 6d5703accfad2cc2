"""The fixed split of the LJSpeech sample clips used by every tuning and report.

The 32 clips in ``$AUDIOSYNTH_REALDATA/ljspeech_sample/wavs`` are split once and
for all so that no setting (PGHI tolerance, declipping cap, number of FGLA
iterations, CNN training) is chosen on the clips whose numbers are reported:

- ``train``: LJ001-0001 .. LJ001-0020 (tuning and CNN training),
- ``val``: LJ001-0021 .. LJ001-0026 (model selection, reported separately),
- ``test``: LJ001-0027 .. LJ001-0032 (reported only, never looked at to tune).

Run ``python -m cnnvocoder.ljspeech_split [ROOT]`` to print the split as JSON.
"""
import json
import os
import sys

from corpus.realdata import realdata_root

SPLIT_RANGES = {"train": (1, 20), "val": (21, 26), "test": (27, 32)}
PARTS = tuple(SPLIT_RANGES)


def default_root():
    """The LJSpeech sample directory under ``$AUDIOSYNTH_REALDATA``.

    Returns:
        str path (``<realdata>/ljspeech_sample``); the environment variable
        defaults to ``../shared/realdata`` relative to the repository.
    """
    base = str(realdata_root())
    return os.path.join(base, "ljspeech_sample")


def _wav_dir(root):
    # Accept either the sample root (holding wavs/) or the wavs directory itself.
    sub = os.path.join(root, "wavs")
    return sub if os.path.isdir(sub) else root


def ljspeech_split(root=None):
    """File paths of the fixed train / val / test split.

    Args:
        root: the ``ljspeech_sample`` directory or its ``wavs`` subdirectory;
            None uses ``default_root()``.

    Returns:
        dict ``{"train": [...], "val": [...], "test": [...]}`` of wav paths in
        clip order (20, 6 and 6 paths).

    Raises:
        FileNotFoundError: naming the first clip of the split that is missing.
    """
    wavs = _wav_dir(root or default_root())
    out = {}
    for part, (lo, hi) in SPLIT_RANGES.items():
        paths = [os.path.join(wavs, "LJ001-%04d.wav" % i) for i in range(lo, hi + 1)]
        for p in paths:
            if not os.path.isfile(p):
                raise FileNotFoundError("%s: missing clip of the LJSpeech %s split" % (p, part))
        out[part] = paths
    return out


def split_part(part, root=None):
    """The wav paths of one part of the split.

    Args:
        part: "train", "val" or "test".
        root: as in ``ljspeech_split``.

    Returns:
        list of str paths.
    """
    if part not in SPLIT_RANGES:
        raise ValueError("unknown split part %r (expected one of %s)" % (part, ", ".join(PARTS)))
    return ljspeech_split(root)[part]


if __name__ == "__main__":
    print(json.dumps(ljspeech_split(sys.argv[1] if len(sys.argv) > 1 else None), indent=1))
