"""Deterministic source-filter speech synthesizer: the embedded default corpus.

Every utterance is ``speech = excitation / A_t(z)`` where

* the excitation is the sum of
  - LF glottal flow derivative pulses (:mod:`corpus.glottal`) at a smooth F0
    contour with per-period jitter and shimmer, the pulse shape (Rd) drifting
    slowly and getting breathier at voicing onsets and offsets;
  - aspiration noise (high-passed white noise) whose amplitude follows the
    glottal cycle, strongest around the closure instant and the late open phase;
  - frication noise during unvoiced fricatives (s, sh, f);
* ``A_t(z)`` is an all-pole vocal tract (5 phone formants plus fixed higher
  resonances: order 14 at 16 kHz, :mod:`corpus.vocal_tract`) whose formants glide between phone targets; it
  changes every 5 ms frame. Lip radiation is already in the flow derivative.

Ground truth per utterance (frame ``t`` describes the instant ``t * frame_hop``,
``n_frames = ceil(n_samples / frame_hop)``, as the toolkit's analysis frames):
``f0`` [frames] Hz (0 = unvoiced), ``voiced`` [frames] bool, ``gci`` [k] sample
indices of the glottal closure instants (main negative peak of the flow
derivative), ``lpc`` [frames, order + 1] (order 14 at 16 kHz) the vocal-tract polynomial (a[0] = 1) applied
to the samples around frame ``t`` (``t*hop - hop//2 ... t*hop + hop - hop//2``).

Example:
    >>> from corpus.synth import make_corpus
    >>> paths = make_corpus("data/synthetic", minutes=3.0)
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corpus.glottal import LFTable
from corpus.prosody import Speaker, make_speakers, plan_text, plan_utterance, smooth_f0
from corpus.vocal_tract import FRICATIVES, VOWELS, allpole_filter_blocks, formant_target, formants_to_lpc
from dsp.audio import InputError, atomic_output, write_wav

__all__ = [
    "Speaker", "make_speakers", "plan_utterance", "synthesize_utterance", "make_corpus",
    "frame_hop_for", "load_truth",
]

_LF_TABLE: LFTable | None = None
FRICATION_LEVEL = 0.4  # frication output RMS; vowels come out at about 1.3 RMS before normalisation


def _lf_table() -> LFTable:
    global _LF_TABLE
    if _LF_TABLE is None:
        _LF_TABLE = LFTable()
    return _LF_TABLE


def frame_hop_for(sr: int) -> int:
    """Ground-truth frame hop in samples: 5 ms (80 at 16 kHz)."""
    return int(round(0.005 * sr))


def _formant_tracks(plan, bounds, speaker: Speaker, sr: int, frame_pos: np.ndarray):
    """Vocal-tract filters per frame: each phone holds its formant target in its
    middle and glides at its edges.

    Returns:
        (lpc [frames, order + 1], power_gain [frames], voiced_gain [frames]): the
        filters, their white-noise power gains and their gains for a glottal-like
        (low-pass) spectrum, which keep phone loudness in a natural range.
    """
    pts_t, pts_f, pts_b = [], [], []
    for (phone, _), s, e in zip(plan, bounds[:-1], bounds[1:]):
        if phone == "pau":
            continue
        f, b = formant_target(phone, speaker.vt_scale, sr)
        edge = min(0.025 * sr, 0.25 * (e - s))
        for p in (s + edge, e - edge):
            pts_t.append(p)
            pts_f.append(f)
            pts_b.append(b)
    if not pts_t:  # all pause: any neutral tract
        f, b = formant_target("ah", speaker.vt_scale, sr)
        pts_t, pts_f, pts_b = [0.0], [f], [b]
    pts_t = np.asarray(pts_t)
    freqs = np.stack([np.interp(frame_pos, pts_t, np.asarray(pts_f)[:, k]) for k in range(len(pts_f[0]))], axis=1)
    bws = np.stack([np.interp(frame_pos, pts_t, np.asarray(pts_b)[:, k]) for k in range(len(pts_b[0]))], axis=1)
    lpc = formants_to_lpc(freqs, bws, sr)  # [frames, order + 1]
    inv_power = 1.0 / np.maximum(np.abs(np.fft.rfft(lpc, 512, axis=1)) ** 2, 1e-12)
    power_gain = inv_power.mean(axis=1)
    f_axis = np.fft.rfftfreq(512, 1.0 / sr)
    voiced_gain = (inv_power / (1.0 + (f_axis / 200.0) ** 2)).mean(axis=1)
    return lpc, power_gain, voiced_gain


def _voiced_runs_and_fricatives(plan, bounds, sr: int):
    """Voiced stretches (runs of consecutive vowels) and fricatives, in samples.

    Returns:
        (runs [[start, end], ...], frics [(start, end), ...], vowel_centres [s]).
    """
    runs, frics = [], []
    for (phone, _), s, e in zip(plan, bounds[:-1], bounds[1:]):
        if phone in VOWELS:
            if runs and runs[-1][1] == s:
                runs[-1][1] = e
            else:
                runs.append([s, e])
        elif phone in FRICATIVES:
            frics.append((s, e))
    vowel_centres = [0.5 * (s + e) / sr for (p, _), s, e in zip(plan, bounds[:-1], bounds[1:]) if p in VOWELS]
    return runs, frics, vowel_centres


def _glottal_periods(runs, frame_pos, f0_track, rd_track, voiced_gain, speaker: Speaker, sr: int,
                     rng: np.random.Generator):
    """Glottal periods of the voiced runs (a short loop over periods).

    Returns:
        (opens, periods, amps, rds) arrays, one entry per period: opening instant
        (samples), length (samples, with jitter), amplitude (with shimmer, onset and
        offset ramps and partial loudness compensation) and the LF shape parameter Rd.
    """
    opens, periods, amps, rds = [], [], [], []
    for s, e in runs:
        o = float(s) + rng.uniform(0.0, 2.0)
        ramp_in, ramp_out = 0.03 * sr, 0.045 * sr
        while True:
            f0 = np.interp(o, frame_pos, f0_track)
            period = sr / f0 * (1.0 + speaker.jitter * rng.standard_normal())
            if o + period > e:
                break
            edge = min((o - s) / ramp_in, (e - o - period) / ramp_out, 1.0)
            amp = (0.25 + 0.75 * max(edge, 0.0)) * (1.0 + speaker.shimmer * rng.standard_normal())
            # partial loudness compensation: open vowels are louder, but not 20 dB louder
            amp *= np.interp(o, frame_pos, voiced_gain) ** -0.3
            rd = np.interp(o, frame_pos, rd_track) + 0.5 * (1.0 - max(edge, 0.0))
            opens.append(o)
            periods.append(period)
            amps.append(amp)
            rds.append(rd)
            o += period
    return np.asarray(opens), np.asarray(periods), np.asarray(amps), np.asarray(rds)


def _glottal_excitation(n: int, opens, periods, amps, rd_idx, speaker: Speaker, rng: np.random.Generator):
    """Glottal flow derivative and cycle-gated aspiration noise; the samples are vectorised.

    Returns:
        (glottal [n], aspiration [n], gci [k] int64, in_cycle [n] bool).
    """
    table = _lf_table()
    samples = np.arange(n)
    k = np.searchsorted(opens, samples, side="right") - 1
    kk = np.maximum(k, 0)
    in_cycle = (k >= 0) & (samples < (opens[kk] + periods[kk] if len(opens) else 0))
    phase = np.where(in_cycle, (samples - opens[kk]) / periods[kk] if len(opens) else 0.0, 0.0)
    glottal = np.zeros(n)
    aspiration = np.zeros(n)
    if not len(opens):
        return glottal, aspiration, np.zeros(0, dtype=np.int64), in_cycle
    idx = samples[in_cycle]
    kc = k[in_cycle]
    glottal[idx] = amps[kc] * table.sample(phase[in_cycle], rd_idx[kc])
    # Aspiration: high-passed noise gated by the cycle, peaking at closure.
    noise = rng.standard_normal(n + 1)
    noise = 0.5 * (noise[1:] - noise[:-1])
    te = table.te[rd_idx[kc]]
    gate = 0.2 + 0.8 * np.exp(-0.5 * ((phase[in_cycle] - (te - 0.05)) / 0.15) ** 2)
    aspiration[idx] = speaker.aspiration * np.abs(amps[kc]) * gate * noise[idx]
    # GCI: the sample of the main negative peak (floor or ceil of the continuous te).
    te_abs = opens + table.te[rd_idx] * periods
    g0 = np.clip(np.floor(te_abs).astype(np.int64), 0, n - 1)
    g1 = np.clip(g0 + 1, 0, n - 1)
    gci = np.where(glottal[g1] < glottal[g0], g1, g0)
    return glottal, aspiration, gci, in_cycle


def _frication(n: int, frics, frame_pos, power_gain, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Frication: white noise with ramps, level normalised by the filter's power gain."""
    frication = np.zeros(n)
    if not frics:
        return frication
    fr_gain = FRICATION_LEVEL / np.sqrt(power_gain)
    gain_s = np.interp(np.arange(n), frame_pos, fr_gain)
    for s, e in frics:
        ln = e - s
        ramp = max(1, min(int(0.015 * sr), ln // 3))
        env = np.ones(ln)
        env[:ramp] = np.linspace(0.0, 1.0, ramp)
        env[-ramp:] = np.linspace(1.0, 0.0, ramp)
        level = rng.uniform(0.7, 1.0)
        frication[s:e] = level * env * gain_s[s:e] * rng.standard_normal(ln)
    return frication


def synthesize_utterance(
    speaker: Speaker,
    seconds: float | None = None,
    sr: int = 16000,
    rng: np.random.Generator | int = 0,
    plan: list[tuple[str, float]] | None = None,
    return_components: bool = False,
    peak: float = 0.9,
) -> dict:
    """Synthesize one utterance and its ground truth.

    Args:
        speaker: voice parameters.
        seconds: duration (ignored when ``plan`` is given).
        sr: sample rate in Hz (default 16000).
        rng: numpy Generator or integer seed.
        plan: explicit ``[(phone, seconds), ...]`` (``"pau"`` = pause); random if None.
        return_components: also return the unfiltered excitation parts
            ``glottal``, ``aspiration``, ``frication``, ``excitation`` and the filtered
            ``speech`` [n] (before the peak normalisation: ``audio = scale * speech + floor``).
        peak: absolute peak of the returned audio.

    Returns:
        dict with ``audio`` float32 [n], ``sr``, ``frame_hop``, ``f0`` [frames],
        ``voiced`` [frames], ``gci`` [k] int64, ``lpc`` [frames, order + 1], ``text``,
        ``speaker``, ``scale``.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    if plan is None:
        if seconds is None:
            raise ValueError("give seconds or plan")
        plan = plan_utterance(rng, seconds)
    hop = frame_hop_for(sr)
    bounds = np.round(np.cumsum([0.0] + [d for _, d in plan]) * sr).astype(np.int64)
    n = int(bounds[-1])
    n_frames = int(math.ceil(n / hop))
    frame_pos = np.arange(n_frames) * hop  # the instant each frame describes

    # The random draws happen in a fixed order (F0 contour, Rd drift, periods,
    # aspiration, frication, noise floor): a seed always gives the same corpus.
    lpc, power_gain, voiced_gain = _formant_tracks(plan, bounds, speaker, sr, frame_pos)
    runs, frics, vowel_centres = _voiced_runs_and_fricatives(plan, bounds, sr)
    f0_track = smooth_f0(rng, n_frames, hop, sr, speaker, vowel_centres)
    rd_wobble = speaker.rd + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 0.8) * frame_pos / sr + rng.uniform(0, 6.3))
    opens, periods, amps, rds = _glottal_periods(runs, frame_pos, f0_track, rd_wobble, voiced_gain,
                                                 speaker, sr, rng)
    rd_idx = _lf_table().nearest(np.clip(rds, 0.5, 2.0))
    glottal, aspiration, gci, in_cycle = _glottal_excitation(n, opens, periods, amps, rd_idx, speaker, rng)
    frication = _frication(n, frics, frame_pos, power_gain, sr, rng)

    excitation = glottal + aspiration + frication
    starts = np.maximum(frame_pos - hop // 2, 0)
    starts[0] = 0
    speech = allpole_filter_blocks(excitation, lpc, starts)
    scale = peak / max(np.max(np.abs(speech)), 1e-12)
    floor = 3e-4 * rng.standard_normal(n)  # recording noise floor (about -70 dBFS)
    audio = np.clip(scale * speech + floor, -1.0, 1.0).astype(np.float32)

    voiced = in_cycle[frame_pos] if n else np.zeros(0, bool)
    out = {
        "audio": audio,
        "sr": int(sr),
        "frame_hop": int(hop),
        "f0": np.where(voiced, f0_track, 0.0).astype(np.float32),
        "voiced": voiced.astype(bool),
        "gci": gci.astype(np.int64),
        "lpc": lpc.astype(np.float64),
        "text": plan_text(plan),
        "speaker": speaker.name,
        "scale": float(scale),
    }
    if return_components:
        out.update(glottal=glottal, aspiration=aspiration, frication=frication, excitation=excitation,
                   speech=speech)
    return out


def load_truth(path) -> dict:
    """Ground truth of one utterance: ``truth/<tag>.npz`` (or its wav path) -> dict.

    Keys: ``f0`` [frames], ``voiced`` [frames], ``gci`` [k], ``lpc`` [frames, order+1],
    ``frame_hop`` (int), ``sr`` (int), ``speaker`` (str), ``frame_times`` [frames]
    (seconds, frame ``t`` at ``t * frame_hop / sr``).
    """
    path = Path(path)
    if path.suffix == ".wav":
        path = path.parent.parent / "truth" / f"{path.stem}.npz"
    if not path.is_file():
        raise InputError(f"{path}: ground-truth file not found")
    with np.load(path) as z:
        missing = {"f0", "voiced", "gci", "lpc", "frame_hop", "sr"} - set(z.files)
        if missing:
            raise InputError(f"{path}: not a synthetic-corpus truth file (missing {sorted(missing)})")
        out = {k: z[k] for k in z.files}
    out["frame_hop"], out["sr"] = int(out["frame_hop"]), int(out["sr"])
    if "speaker" in out:
        out["speaker"] = str(out["speaker"])
    out["frame_times"] = np.arange(len(out["f0"])) * out["frame_hop"] / out["sr"]
    return out


def _save_npz_atomic(path: Path, **arrays) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def make_corpus(
    out_dir,
    n_utterances: int | None = None,
    minutes: float = 3.0,
    seconds_per_utt: tuple[float, float] = (1.5, 3.5),
    sr: int = 16000,
    n_speakers: int = 4,
    seed: int = 0,
    progress: bool = False,
) -> list[Path]:
    """Write a synthetic speech corpus in the LJSpeech layout plus ground truth.

    Args:
        out_dir: output folder; gets ``wav/<tag>.wav`` (PCM16 mono),
            ``truth/<tag>.npz`` and ``metadata.csv`` (``tag|text|text``, written last).
        n_utterances: number of utterances; overrides ``minutes`` when given.
        minutes: total duration to reach (default 3.0).
        seconds_per_utt: (min, max) duration of one utterance in seconds.
        sr: sample rate in Hz (default 16000).
        n_speakers: speakers, assigned round robin (tags ``syn_spk1_0001`` ...).
        seed: utterance ``i`` uses ``default_rng([seed, i])``, so the corpus is
            deterministic and the first N utterances do not depend on the total.
        progress: show a tqdm progress bar.

    Returns:
        The wav paths, in order.
    """
    lo, hi = seconds_per_utt
    if not 0.3 <= lo <= hi:
        raise ValueError(f"seconds_per_utt must satisfy 0.3 <= min <= max, got {seconds_per_utt}")
    if n_utterances is None and minutes <= 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    if n_utterances is not None and n_utterances < 1:
        raise ValueError(f"n_utterances must be >= 1, got {n_utterances}")
    out_dir = Path(out_dir)
    (out_dir / "wav").mkdir(parents=True, exist_ok=True)
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    speakers = make_speakers(n_speakers, seed)
    counts = [0] * n_speakers
    target = None if n_utterances is not None else minutes * 60.0
    bar = None
    if progress:
        if n_utterances is not None:
            bar = tqdm(total=n_utterances, unit="utt", desc="synthetic corpus")
        else:
            bar = tqdm(total=round(target, 1), desc="synthetic corpus",
                       bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s [{elapsed}<{remaining}]")
    paths, rows, total = [], [], 0.0
    i = 0
    while (n_utterances is not None and i < n_utterances) or (target is not None and total < target):
        rng = np.random.default_rng([seed, i])
        spk_i = i % n_speakers
        counts[spk_i] += 1
        tag = f"syn_{speakers[spk_i].name}_{counts[spk_i]:04d}"
        utt = synthesize_utterance(speakers[spk_i], float(rng.uniform(lo, hi)), sr=sr, rng=rng)
        wav_path = out_dir / "wav" / f"{tag}.wav"
        write_wav(wav_path, utt["audio"], sr)
        _save_npz_atomic(
            out_dir / "truth" / f"{tag}.npz",
            f0=utt["f0"], voiced=utt["voiced"], gci=utt["gci"], lpc=utt["lpc"],
            frame_hop=np.int64(utt["frame_hop"]), sr=np.int64(sr), speaker=np.str_(utt["speaker"]),
        )
        rows.append((tag, utt["text"], utt["text"]))
        paths.append(wav_path)
        dur = len(utt["audio"]) / sr
        total += dur
        i += 1
        if bar is not None:
            bar.update(1 if n_utterances is not None else min(dur, max(target - bar.n, 0.0)))
    if bar is not None:
        bar.close()
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="|", quoting=csv.QUOTE_NONE, lineterminator="\n")
    writer.writerows(rows)
    with atomic_output(out_dir / "metadata.csv") as tmp:
        Path(tmp).write_text(buf.getvalue(), encoding="utf-8")
    # A smaller corpus regenerated into the same folder: drop the previous run's extra
    # utterances, so that the folder holds exactly what metadata.csv lists.
    keep = {p.stem for p in paths}
    for sub, ext in (("wav", ".wav"), ("truth", ".npz")):
        for stale in (out_dir / sub).glob(f"syn_*{ext}"):
            if stale.stem not in keep:
                stale.unlink()
    return paths
