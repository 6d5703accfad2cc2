"""New recordings for copy-synthesis and evaluation: read, checked, analysed.

`analyze_recording` reads a recording at any rate and channel count, refuses
what ResGAN cannot analyse with one line naming the file and the problem, and
returns its 16 kHz samples and features (`resgan.packaging.analyze_utterance`):

* missing, empty, corrupt, NaN/Inf, all-zero (`dsp.audio.load_audio`);
* too short: under ``MIN_SECONDS``;
* silent: RMS level below ``SILENCE_DB`` dBFS;
* clipped: more than ``CLIP_FRACTION`` of the samples at full scale
  (checked at the file's own rate, before resampling smooths the flat tops);
* not speech: fewer than ``MIN_VOICED_FRACTION`` of the frames voiced (noise,
  music without pitch), so there are no glottal pulses to model.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corpus.readers import list_wavs
from dsp.audio import InputError, load_audio, resample
from dsp.metrics import full_scale_fraction, level_db
from resgan import synthesis as rs
from resgan.constants import FRAME_HOP, N_MFCC, SAMPLE_RATE
from resgan.packaging import UtteranceFeatures, analyze_utterance

MIN_SECONDS = 0.25
SILENCE_DB = -60.0
CLIP_FRACTION = 0.001
MIN_VOICED_FRACTION = 0.05


@dataclass
class Recording:
    """A checked recording: ``audio`` float32 ``[samples]`` at 16 kHz and its features."""

    path: Path
    audio: np.ndarray
    features: UtteranceFeatures


def analyze_recording(path):
    """`Recording` of an audio file (see the module doc for what is refused).

    Raises:
        InputError: ``"<path>: <problem>"``.
    """
    path = Path(path)
    x, sr = load_audio(path)
    if len(x) < MIN_SECONDS * sr:
        raise InputError(f"{path}: too short ({len(x) / sr:.2f} s, need at least {MIN_SECONDS} s)")
    level = level_db(x)
    if level < SILENCE_DB:
        raise InputError(f"{path}: silent (RMS level {level:.0f} dBFS, below {SILENCE_DB:.0f})")
    clipped = full_scale_fraction(x)
    if clipped > CLIP_FRACTION:
        raise InputError(f"{path}: clipped ({100 * clipped:.2f} % of the samples at full scale)")
    if sr != SAMPLE_RATE:
        x = resample(x, sr, SAMPLE_RATE).astype(np.float32)
    feats = analyze_utterance(x, SAMPLE_RATE)
    voiced = float(np.mean(feats.voiced)) if len(feats.voiced) else 0.0
    if voiced < MIN_VOICED_FRACTION:
        raise InputError(f"{path}: not speech ({100 * voiced:.1f} % of the "
                         f"{1000 * FRAME_HOP // SAMPLE_RATE} ms frames voiced, need "
                         f"{100 * MIN_VOICED_FRACTION:.0f} %)")
    if not (np.all(np.isfinite(feats.inputs)) and np.all(np.isfinite(feats.targets))):
        raise InputError(f"{path}: non-finite features after analysis")
    return Recording(path, x, feats)


def analyze_recordings(paths, skip_bad=False, progress=True):
    """`Recording` of every file, in order; all are analysed before anything is written.

    Args:
        paths: audio files.
        skip_bad: a refused file gives a warning (stderr) and is left out,
            instead of stopping at the first one.
    Raises:
        InputError: the first refused file (without ``skip_bad``), or none left.
    """
    out, paths = [], list(paths)
    for path in tqdm(paths, desc="analyse", unit="file", disable=not progress or len(paths) < 2):
        try:
            out.append(analyze_recording(path))
        except InputError as exc:
            if not skip_bad:
                raise
            print(f"warning: skipped {exc}", file=sys.stderr)
    if not out:
        raise InputError("no usable recording" + (" (all were skipped)" if skip_bad else ""))
    return out


def resynthesize(recording, excitations, seed=0):
    """Copy-synthesis of a `Recording` from its MFCCs, F0 and voicing with each of
    ``excitations`` (``{name: pulses [frames, 400]}``): ``{name: float32 [samples]}``,
    the recording's length."""
    feats = recording.features
    mfcc = feats.inputs[:, :N_MFCC]
    n = len(recording.audio)
    return {name: rs.synthesize(p, mfcc, feats.f0, feats.voiced, seed=seed)[:n].astype(np.float32)
            for name, p in excitations.items()}


def recording_paths(input_file=None, input_dir=None):
    """The audio files of ``--input_file`` or ``--input_dir`` (recursive, sorted)."""
    if input_file:
        return [Path(input_file)]
    return list_wavs(input_dir)
