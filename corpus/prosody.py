"""Speakers, phone plans and prosody of the synthetic corpus.

* :class:`Speaker`: F0 range, vocal-tract scaling, voice quality (LF ``Rd``),
  jitter, shimmer and aspiration level of one synthetic voice;
* :func:`plan_utterance`: a random phone sequence (ARPAbet vowels, unvoiced
  fricatives, pauses) filling a duration;
* :func:`smooth_f0`: a smooth F0 contour (declination, slow wobble, pitch accents)
  softly limited to the speaker's range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpus.vocal_tract import FRICATIVES, VOWELS

__all__ = ["Speaker", "make_speakers", "plan_utterance", "plan_text", "smooth_f0"]


@dataclass(frozen=True)
class Speaker:
    """Voice parameters of one synthetic speaker.

    Args:
        name: tag part, e.g. ``"spk1"``.
        f0_lo, f0_hi: F0 range in Hz (within 80-300).
        vt_scale: formant scaling (1.0 = adult male; ~1.15-1.2 = female).
        rd: mean LF shape parameter (larger = breathier, steeper tilt).
        jitter: std of the relative period perturbation.
        shimmer: std of the relative per-period amplitude perturbation.
        aspiration: aspiration noise level relative to the pulse peak.
    """

    name: str
    f0_lo: float
    f0_hi: float
    vt_scale: float
    rd: float
    jitter: float
    shimmer: float
    aspiration: float


_BASE_SPEAKERS = (
    # Rd values on the tense side of modal, which matches the spectral balance of
    # read speech (e.g. LJSpeech's long-term spectrum) better than Rd = 1.
    Speaker("spk1", 85.0, 155.0, 1.00, 0.7, 0.008, 0.04, 0.07),
    Speaker("spk2", 165.0, 290.0, 1.17, 0.9, 0.006, 0.05, 0.12),
    Speaker("spk3", 100.0, 180.0, 1.06, 0.55, 0.010, 0.06, 0.06),
    Speaker("spk4", 150.0, 260.0, 1.12, 1.1, 0.007, 0.04, 0.15),
)


def make_speakers(n_speakers: int = 4, seed: int = 0) -> list[Speaker]:
    """The first four speakers are fixed; further ones are drawn from ``seed``."""
    if n_speakers < 1:
        raise ValueError(f"n_speakers must be >= 1, got {n_speakers}")
    speakers = list(_BASE_SPEAKERS[:n_speakers])
    for i in range(len(speakers), n_speakers):
        rng = np.random.default_rng([seed, 7919, i])
        female = i % 2 == 1
        lo = rng.uniform(150, 185) if female else rng.uniform(80, 110)
        hi = min(300.0, lo * rng.uniform(1.6, 1.8))
        speakers.append(
            Speaker(
                f"spk{i + 1}", float(lo), float(hi),
                float(rng.uniform(1.12, 1.22) if female else rng.uniform(0.95, 1.06)),
                float(rng.uniform(0.55, 1.2)), float(rng.uniform(0.005, 0.012)),
                float(rng.uniform(0.03, 0.07)), float(rng.uniform(0.05, 0.15)),
            )
        )
    return speakers


def plan_utterance(rng: np.random.Generator, seconds: float) -> list[tuple[str, float]]:
    """Random phone sequence ``[(phone, seconds), ...]`` filling ``seconds``.

    Phones are ARPAbet vowels, unvoiced fricatives (``s``, ``sh``, ``f``) and
    pauses (``pau``). Syllables are (fricative) vowel+ (fricative); consecutive
    vowels form one voiced stretch with gliding formants.
    """
    vowels = list(VOWELS)
    frics = list(FRICATIVES)
    plan = [("pau", float(rng.uniform(0.1, 0.25)))]
    end_pause = float(rng.uniform(0.12, 0.25))
    total = plan[0][1]
    while True:
        syll = []
        if rng.random() < 0.5:
            syll.append((str(rng.choice(frics)), float(rng.uniform(0.07, 0.14))))
        for _ in range(int(rng.integers(1, 4))):
            syll.append((str(rng.choice(vowels)), float(rng.uniform(0.08, 0.2))))
        if rng.random() < 0.25:
            syll.append((str(rng.choice(frics)), float(rng.uniform(0.07, 0.14))))
        if rng.random() < 0.35:
            syll.append(("pau", float(rng.uniform(0.06, 0.25))))
        dur = sum(d for _, d in syll)
        if total + dur > seconds - end_pause:
            break
        plan.extend(syll)
        total += dur
    if len(plan) == 1:  # too short for a random syllable: one vowel between short pauses
        lead = min(plan[0][1], 0.15 * seconds)
        plan = [("pau", lead), (str(rng.choice(vowels)), 0.7 * seconds)]
        total = lead + 0.7 * seconds
    plan.append(("pau", seconds - total))
    return plan


def plan_text(plan: list[tuple[str, float]]) -> str:
    words, word = [], []
    for phone, _ in plan:
        if phone == "pau":
            if word:
                words.append(" ".join(word))
            word = []
        else:
            word.append(phone)
    if word:
        words.append(" ".join(word))
    return ", ".join(words)


def smooth_f0(rng, n_frames, hop, sr, speaker, vowel_centres):
    """Smooth F0 contour [frames] in Hz: declination, slow wobble, accents, soft range limit."""
    t = np.arange(n_frames) * hop / sr
    dur = max(t[-1], 1e-3)
    lo, hi = np.log(speaker.f0_lo), np.log(speaker.f0_hi)
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    x = mid + half * (0.3 - 0.6 * t / dur)  # declination over the utterance
    for _ in range(3):
        x = x + rng.uniform(0.03, 0.08) * np.sin(2 * np.pi * rng.uniform(0.3, 2.0) * t + rng.uniform(0, 2 * np.pi))
    for c in vowel_centres:
        if rng.random() < 0.4:
            x = x + rng.uniform(0.05, 0.15) * np.exp(-0.5 * ((t - c) / 0.08) ** 2)
    x = mid + half * np.tanh((x - mid) / half)  # stays inside [f0_lo, f0_hi]
    return np.clip(np.exp(x), 80.0, 300.0)
