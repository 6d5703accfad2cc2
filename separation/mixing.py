"""Mixing rule, reproducible splits and the saved mixture lists.

Paper's rule (`mix_paper`): speech peak-normalised to 0.999; the noise clip tiled
from its start to the speech length and scaled to peak 0.5; mixture = speech +
noise; then mixture, speech and noise all rescaled so the mixture peak is 0.999.
`mix_snr` instead scales the tiled noise to a given speech-to-noise ratio and
applies the same final rescaling.
"""
import csv
from pathlib import Path

import numpy as np

from dsp.audio import InputError, atomic_output

SPEECH_PEAK = 0.999
NOISE_PEAK = 0.5
MIX_PEAK = 0.999
LIST_FIELDS = ("id", "speech", "noise", "snr_db")


def _peak(x):
    return float(np.max(np.abs(x))) if len(x) else 0.0


def tile_to_length(noise, n):
    """Repeat `noise` from its start until it has `n` samples (cut the rest)."""
    noise = np.asarray(noise, np.float32)
    if len(noise) == 0:
        raise InputError("noise clip has no samples")
    reps = -(-n // len(noise))
    return np.tile(noise, reps)[:n]


def _final_rescale(speech, noise):
    mix = speech + noise
    peak = _peak(mix)
    if peak <= 0:
        raise InputError("mixture is silent (speech and noise both zero)")
    g = MIX_PEAK / peak
    return (mix * g).astype(np.float32), (speech * g).astype(np.float32), (noise * g).astype(np.float32)


def _scaled_speech_tiled_noise(speech, noise):
    """Speech scaled to peak SPEECH_PEAK and the noise tiled from its start to its length (float64)."""
    speech = np.asarray(speech, np.float64)
    ps = _peak(speech)
    if ps <= 0:
        raise InputError("speech is silent")
    return speech * (SPEECH_PEAK / ps), tile_to_length(noise, len(speech)).astype(np.float64)


def mix_paper(speech, noise):
    """Mix as in the paper. Returns (mixture, speech, noise), all [len(speech)], float32,
    with mixture == speech + noise and peak(mixture) == 0.999."""
    speech, noise = _scaled_speech_tiled_noise(speech, noise)
    pn = _peak(noise)
    noise = noise * (NOISE_PEAK / pn) if pn > 0 else noise
    return _final_rescale(speech, noise)


def mix_snr(speech, noise, snr_db):
    """Mix at a speech-to-noise power ratio of `snr_db` dB (noise tiled from its
    start), then rescale all three so the mixture peak is 0.999."""
    speech, noise = _scaled_speech_tiled_noise(speech, noise)
    pn = np.mean(noise ** 2)
    if pn <= 0:
        raise InputError("noise is silent")
    noise = noise * np.sqrt(np.mean(speech ** 2) / pn / 10 ** (snr_db / 10))
    return _final_rescale(speech, noise)


def mix(speech, noise, snr_db=None):
    """`mix_paper` when snr_db is None, else `mix_snr`."""
    return mix_paper(speech, noise) if snr_db is None else mix_snr(speech, noise, snr_db)


def split_items(items, fractions, seed):
    """Shuffle `items` with `seed` and cut them into len(fractions) parts.

    Every part with a positive fraction gets at least one item when possible.
    Deterministic for a seed; returns lists in shuffled order.
    """
    items = list(items)
    if not items:
        raise InputError("nothing to split")
    order = np.random.default_rng(seed).permutation(len(items))
    fr = np.asarray(fractions, np.float64)
    fr = fr / fr.sum()
    counts = np.floor(fr * len(items)).astype(int)
    for i in np.argsort(-fr):  # hand out the remainder, then make sure each part is non-empty
        if counts.sum() < len(items):
            counts[i] += 1
    for i in range(len(counts)):
        if fr[i] > 0 and counts[i] == 0 and counts.max() > 1:
            counts[i] += 1
            counts[int(np.argmax(counts))] -= 1
    parts, start = [], 0
    for c in counts:
        parts.append([items[j] for j in order[start:start + c]])
        start += c
    return parts


def write_list(path, rows):
    """Write a mixture list CSV (columns id, speech, noise, snr_db) atomically."""

    with atomic_output(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LIST_FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r[k]) for k in LIST_FIELDS})


def read_list(path):
    """Read a mixture list CSV written by `write_list`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: mixture list not found (run separation/01_make_mixtures.sh)")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or set(LIST_FIELDS) - set(reader.fieldnames):
            raise InputError(f"{path}: needs the columns {list(LIST_FIELDS)}")
        rows = list(reader)
    for r in rows:
        r["snr_db"] = float(r["snr_db"]) if r["snr_db"] not in ("", None) else None
    return rows


