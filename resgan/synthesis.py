"""From ResGAN pulses to audible speech (numpy/scipy; no keras), and the .pls files.

The original ResGAN code stopped at pulses. This module closes the loop with
the source-filter model the pulses came from (see resgan.packaging: pulses
are two-period, Hann-windowed segments of the MFCC all-pole residual of the
pre-emphasised speech, centred at sample 200, one per 5 ms frame):

1. excitation: pitch-synchronous overlap-add (PSOLA) of the frame's pulse at
   pitch marks spaced one period 1/F0 apart in voiced regions (two-period
   Hann windows one period apart sum to a constant); white noise in
   unvoiced frames;
2. all-pole filtering, frame by frame (80-sample blocks, filter state
   carried over), with get_mfcc.py's inverse: MFCCs -> order-30 LPC
   (``dsp.mfcc.mfcc_to_lpc``);
3. level: per frame, the gain that makes the frame energy of the filtered
   signal equal to c0 (the analysed frame energy in dB, see
   ``dsp.mfcc.mfcc_to_envelope``), interpolated per sample;
4. de-emphasis (``dsp.filters.de_emphasis``).

Shapes: ``pulses [n_frames, 400]``, ``f0 [n_frames]`` Hz, ``voiced
[n_frames]`` bool, ``mfcc [n_frames, 20]``; output ``[n_frames * hop]``.

Generated pulses are stored as ``<tag>.pls`` (GAN) and ``<tag>.pls_nonoise``
(pulse model): raw float32, ``[n_frames, 400]`` row-major (`read_pls`, `write_pls`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.signal

from dsp.audio import InputError, atomic_output
from dsp.filters import dc_block, de_emphasis
from dsp.mfcc import MfccConfig, mfcc_to_lpc
from dsp.spectral import stft
from resgan.constants import (CENTRE, FRAME_HOP, LOG_F0_COLUMN, N_MFCC, PULSE_LENGTH,
                              SAMPLE_RATE, VOICING_COLUMN)

EXCITATIONS = ("impulse", "pulse", "gan")


# --------------------------------------------------------------------------- files

def write_pls(path, pulses):
    """Write pulses ``[n_frames, 400]`` as raw float32 (atomically)."""
    with atomic_output(path) as tmp:
        np.asarray(pulses, np.float32).tofile(tmp)


def read_pls(path):
    """A ``.pls`` / ``.pls_nonoise`` file -> float32 ``[n_frames, 400]``."""
    a = np.fromfile(path, dtype=np.float32)
    if a.size % PULSE_LENGTH:
        raise InputError(f"{path}: size {a.size} is not a multiple of {PULSE_LENGTH} samples")
    return a.reshape(-1, PULSE_LENGTH)


def find_recording(wav_dir, tag):
    """``<wav_dir>/<tag>.wav`` (or .flac, searched recursively; tags made of a
    relative path with "_" for "/" are found too); None if absent."""
    wav_dir = Path(wav_dir)
    for ext in (".wav", ".flac"):
        if (wav_dir / f"{tag}{ext}").is_file():
            return wav_dir / f"{tag}{ext}"
    if not wav_dir.is_dir():
        return None
    for path in wav_dir.rglob("*"):
        if path.suffix.lower() in (".wav", ".flac") and (
                path.stem == tag or str(path.relative_to(wav_dir).with_suffix("")).replace("/", "_") == tag):
            return path
    return None


# --------------------------------------------------------------------------- speech


def split_features(inputs_norm, input_means, input_stdevs):
    """De-normalise packaged inputs ``[n, 22]`` -> ``(mfcc [n, 20], f0 [n] Hz,
    voiced [n] bool)``; ``f0`` is 0 in unvoiced frames."""
    raw = np.asarray(inputs_norm, np.float64) * np.asarray(input_stdevs) + np.asarray(input_means)
    mfcc = raw[:, :N_MFCC]
    voiced = raw[:, VOICING_COLUMN] > 0.5
    f0 = np.where(voiced, np.exp(raw[:, LOG_F0_COLUMN]), 0.0)
    return mfcc, f0, voiced


def pitch_marks(f0, voiced, hop=FRAME_HOP, sr=SAMPLE_RATE):
    """Pitch marks in voiced regions: ``(positions [k] samples, frames [k])``.

    Within each voiced run the next mark lies one local period ``sr / F0``
    after the previous one (F0 of the frame nearest the current mark).
    """
    f0 = np.asarray(f0, np.float64)
    voiced = np.asarray(voiced, bool) & (f0 > 0)
    positions, frames = [], []
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        t = max(start * hop - hop / 2.0, 0.0)
        end = (stop - 1) * hop + hop / 2.0
        while t < end:
            k = min(stop - 1, max(start, int(round(t / hop))))
            positions.append(int(round(t)))
            frames.append(k)
            t += sr / f0[k]
    return np.asarray(positions, np.int64), np.asarray(frames, np.int64)


def overlap_add(pulses, positions, frames, n_samples):
    """Add ``pulses[frames[i]]`` centred at ``positions[i]``: ``[n_samples]``."""
    out = np.zeros(n_samples + PULSE_LENGTH, np.float64)
    pulses = np.asarray(pulses, np.float64)
    for pos, k in zip(positions, frames):
        out[pos:pos + PULSE_LENGTH] += pulses[k]  # out is shifted by CENTRE
    return out[CENTRE:CENTRE + n_samples]


def impulse_pulses(n_frames):
    """The paper's baseline excitation: one unit impulse at sample 200."""
    p = np.zeros((n_frames, PULSE_LENGTH), np.float32)
    p[:, CENTRE] = 1.0
    return p


def excitation(pulses, f0, voiced, hop=FRAME_HOP, sr=SAMPLE_RATE, seed=0):
    """PSOLA of ``pulses`` in voiced frames + white noise in unvoiced frames.

    Each part is scaled to unit mean power over its own frames; the final
    level comes from c0 in :func:`filter_and_level`.
    """
    n_frames = len(f0)
    n_samples = n_frames * hop
    positions, frames = pitch_marks(f0, voiced, hop, sr)
    voiced_part = overlap_add(pulses, positions, frames, n_samples)
    sample_voiced = np.repeat(np.asarray(voiced, bool), hop)[:n_samples]
    # cross-fade the voicing mask over one hop to avoid clicks
    fade = np.convolve(sample_voiced.astype(np.float64), np.ones(hop) / hop, mode="same")
    noise = np.random.default_rng(seed).standard_normal(n_samples)
    if voiced_part[sample_voiced].size and np.any(voiced_part[sample_voiced]):
        voiced_part /= np.sqrt(np.mean(voiced_part[sample_voiced] ** 2))
    return fade * voiced_part + (1.0 - fade) * noise


def filter_and_level(exc, mfcc, cfg=MfccConfig(), max_gain_db=80.0):
    """All-pole filter ``exc`` frame by frame and match each frame's energy
    to c0; returns the *pre-emphasised* speech ``[len(exc)]``."""
    hop = cfg.hop_size
    mfcc = np.asarray(mfcc, np.float64)
    n_frames = mfcc.shape[0]
    a = mfcc_to_lpc(mfcc, cfg)
    y = np.zeros(len(exc))
    zi = np.zeros(a.shape[1] - 1)
    # frame k (centred at k*hop) filters the block [k*hop - hop/2, k*hop + hop/2)
    bounds = np.clip(np.arange(n_frames + 1) * hop - hop // 2, 0, len(exc))
    bounds[-1] = len(exc)
    for k in range(n_frames):
        s, e = bounds[k], bounds[k + 1]
        if e > s:
            y[s:e], zi = scipy.signal.lfilter([1.0], a[k], exc[s:e], zi=zi)
    mag = np.abs(stft(y, cfg.nfft, hop, cfg.win_length, n_frames=n_frames))
    energy = np.maximum(np.sum(mag ** 2, axis=-1), 1e-20)
    # power ratio in dB == amplitude gain in dB (10 log10 P = 20 log10 A)
    gain_db = np.clip(mfcc[:, 0] - 10.0 * np.log10(energy), -max_gain_db, max_gain_db)
    # interpolate the gain in dB between frame centres
    gain = 10.0 ** (np.interp(np.arange(len(y)), np.arange(n_frames) * hop, gain_db) / 20.0)
    return y * gain


def synthesize(pulses, mfcc, f0, voiced, cfg=MfccConfig(), seed=0):
    """Speech ``float32 [n_frames * hop]`` from per-frame pulses and features."""
    if len(pulses) != len(mfcc) or len(f0) != len(mfcc) or len(voiced) != len(mfcc):
        raise ValueError(f"frame counts differ: pulses {len(pulses)}, mfcc {len(mfcc)}, "
                         f"f0 {len(f0)}, voiced {len(voiced)}")
    exc = excitation(pulses, f0, voiced, cfg.hop_size, cfg.sample_rate, seed)
    y = filter_and_level(exc, mfcc, cfg)
    # the MFCC envelope does not constrain the lowest bins, and de-emphasis
    # boosts DC by 30 dB: remove what lies below the lowest speech harmonics
    y = dc_block(y, cfg.sample_rate, cutoff=50.0)
    return de_emphasis(y, cfg.preemphasis).astype(np.float32)



def limit_peak(x, peak=0.99):
    """Scale down (never up) so that ``max |x| <= peak``; returns (x, scale)."""
    m = float(np.max(np.abs(x))) if len(x) else 0.0
    scale = peak / m if m > peak else 1.0
    return (x * scale).astype(np.float32), scale
