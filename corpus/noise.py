"""Synthetic noises in an ESC-50-like folder, for separation / noise-robustness work.

``make_noises(out_dir)`` writes ``out_dir/audio/{fold}-{src_file}-{take}-{target}.wav``
and ``out_dir/meta/esc50.csv`` (columns ``filename,fold,target,category,esc10,src_file,take``),
so :func:`corpus.readers.read_esc50` reads it exactly like the real ESC-50.
The categories say what the sounds are (they are not ESC-50 classes):

==================  ==========================================================
``white_noise``     Gaussian white noise
``pink_noise``      1/f power spectrum
``brown_noise``     1/f^2 power spectrum
``babble``          6 overlapping synthetic talkers (:mod:`corpus.synth`)
``siren_sweep``     harmonic tone swept up and down (wail, yelp or linear chirp)
``mains_hum``       50 or 60 Hz and its harmonics over a little noise
``clicks``          random impulsive clicks (short decaying bursts)
==================  ==========================================================

Every clip is scaled to -20 dBFS RMS (peak at most 0.95).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corpus.synth import make_speakers, synthesize_utterance
from dsp.audio import atomic_output, write_wav

__all__ = ["NOISE_CATEGORIES", "make_noise", "make_noises"]

NOISE_CATEGORIES = (
    "white_noise", "pink_noise", "brown_noise", "babble", "siren_sweep", "mains_hum", "clicks",
)


def _coloured(rng, n, exponent):
    """Gaussian noise with power spectrum ~ 1/f^exponent (FFT shaping)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]  # no infinite DC gain
    spec *= f ** (-exponent / 2.0)
    x = np.fft.irfft(spec, n)
    return x - x.mean()


def _babble(rng, n, sr, n_talkers=6):
    speakers = make_speakers(8, seed=int(rng.integers(1 << 30)))
    out = np.zeros(n)
    for k in range(n_talkers):
        start = int(rng.integers(0, min(sr, n) + 1))  # talkers out of step
        talker = np.zeros(0)
        while len(talker) < n + start:
            utt = synthesize_utterance(speakers[k % len(speakers)], float(rng.uniform(1.0, 2.5)), sr=sr, rng=rng)
            talker = np.concatenate([talker, utt["audio"]])
        out += rng.uniform(0.5, 1.0) * talker[start : start + n]
    return out


def _siren(rng, n, sr):
    t = np.arange(n) / sr
    style = rng.choice(["wail", "yelp", "chirp"])
    lo, hi = rng.uniform(450, 700), rng.uniform(1200, 1700)
    if style == "wail":  # slow sinusoidal sweep
        f = lo + (hi - lo) * 0.5 * (1 - np.cos(2 * np.pi * t / rng.uniform(3.0, 5.0)))
    elif style == "yelp":  # fast sawtooth sweep
        rate = rng.uniform(3.0, 5.0)
        f = lo + (hi - lo) * ((t * rate) % 1.0)
    else:  # one linear chirp up and down
        tri = 1 - np.abs(2 * (t / t[-1]) - 1) if n > 1 else t
        f = lo + (hi - lo) * tri
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = np.zeros(n)
    for h in (1, 2, 3, 4, 5):  # harmonic tone, harmonics kept below Nyquist
        x += np.where(h * f < 0.45 * sr, 1.0 / h, 0.0) * np.sin(h * phase)
    return x + 0.01 * rng.standard_normal(n)


def _hum(rng, n, sr, mains):
    t = np.arange(n) / sr
    x = np.zeros(n)
    for h in range(1, 12):
        if h * mains < 0.45 * sr:
            amp = (1.0 if h == 1 else 0.6 / h) * rng.uniform(0.5, 1.0)
            x += amp * np.sin(2 * np.pi * h * mains * t + rng.uniform(0, 2 * np.pi))
    return x + 0.02 * rng.standard_normal(n)


def _clicks(rng, n, sr):
    x = 0.003 * rng.standard_normal(n)
    n_clicks = max(1, rng.poisson(rng.uniform(2.0, 8.0) * n / sr))
    for pos in rng.integers(0, n, n_clicks):
        length = int(rng.uniform(0.002, 0.01) * sr) + 1
        seg = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.25 * length))
        end = min(n, pos + length)
        x[pos:end] += rng.uniform(0.3, 1.0) * seg[: end - pos]
    return x


def make_noise(category: str, sr: int = 16000, seconds: float = 5.0, rng=0) -> np.ndarray:
    """One synthetic noise clip of ``category`` as float32 ``[round(seconds*sr)]`` at -20 dBFS RMS."""
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    n = int(round(seconds * sr))
    if n < 1:
        raise ValueError(f"seconds={seconds}: clip would be empty")
    if category == "white_noise":
        x = rng.standard_normal(n)
    elif category == "pink_noise":
        x = _coloured(rng, n, 1.0)
    elif category == "brown_noise":
        x = _coloured(rng, n, 2.0)
    elif category == "babble":
        x = _babble(rng, n, sr)
    elif category == "siren_sweep":
        x = _siren(rng, n, sr)
    elif category == "mains_hum":
        x = _hum(rng, n, sr, float(rng.choice([50.0, 60.0])))
    elif category == "clicks":
        x = _clicks(rng, n, sr)
    else:
        raise ValueError(f"unknown noise category {category!r}; choose from {', '.join(NOISE_CATEGORIES)}")
    rms = np.sqrt(np.mean(x**2))
    scale = min(0.1 / max(rms, 1e-12), 0.95 / max(np.max(np.abs(x)), 1e-12))
    return (scale * x).astype(np.float32)


def make_noises(out_dir, sr: int = 16000, seconds: float = 5.0, seed: int = 0, n_per_kind: int = 2,
                categories=NOISE_CATEGORIES, progress: bool = False) -> list[Path]:
    """Write an ESC-50-like folder of synthetic noises; returns the wav paths.

    Args:
        out_dir: output folder (gets ``audio/`` and ``meta/esc50.csv``, the csv last).
        sr: sample rate in Hz (default 16000).
        seconds: clip length (default 5.0, as ESC-50).
        seed: clip ``j`` of category ``c`` uses ``default_rng([seed, c, j])``.
        n_per_kind: clips per category (default 2); fold = ``j % 5 + 1``.
        categories: subset of :data:`NOISE_CATEGORIES`.
        progress: show a tqdm progress bar.
    """
    if n_per_kind < 1:
        raise ValueError(f"n_per_kind must be >= 1, got {n_per_kind}")
    out_dir = Path(out_dir)
    (out_dir / "audio").mkdir(parents=True, exist_ok=True)
    (out_dir / "meta").mkdir(parents=True, exist_ok=True)
    jobs = [(c, j) for c in categories for j in range(n_per_kind)]
    if progress:
        jobs = tqdm(jobs, desc="synthetic noises", unit="clip")
    rows, paths = [], []
    for category, j in jobs:
        target = NOISE_CATEGORIES.index(category)
        fold = j % 5 + 1
        src = 900000 + 100 * target + j // 26
        take = chr(ord("A") + j % 26)
        name = f"{fold}-{src}-{take}-{target}.wav"
        x = make_noise(category, sr, seconds, np.random.default_rng([seed, target, j]))
        write_wav(out_dir / "audio" / name, x, sr)
        rows.append([name, fold, target, category, False, src, take])
        paths.append(out_dir / "audio" / name)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
    writer.writerows(rows)
    with atomic_output(out_dir / "meta" / "esc50.csv") as tmp:
        Path(tmp).write_text(buf.getvalue(), encoding="utf-8")
    return paths
