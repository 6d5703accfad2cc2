"""Package a folder of speech recordings into ResGAN training data.

``python data_utils.py package --wav_dir DIR --out_dir traindata --test_dir testdata``
(no Keras: packaging starts and runs without it).

Per utterance, at 16 kHz with a 5 ms hop (80 samples, as get_mfcc.py):

* inputs [n_frames, 22]: the 20 MFCCs of get_mfcc.py (``dsp.mfcc.analyze``,
  c0 = frame energy in dB), ln F0 linearly interpolated over unvoiced frames,
  and a voicing flag (``resgan.pitch.yin``: vectorised YIN, see there why not pYIN);
* targets [n_frames, 400]: excitation pulses. The pre-emphasised speech is
  inverse-filtered with get_mfcc.py's all-pole model (LSFs interpolated per
  sample block, ``resgan.gci.inverse_filter``); the polarity is decided per
  utterance, GCIs are tracked period to period in voiced regions and each pulse
  centre is its GCI moved to the main residual peak of its window
  (``resgan.gci.excitation_marks``). A voiced frame takes the two-period
  residual segment around its nearest pulse centre, Hann-windowed and
  centred at index 200 of 400 zeros (capped at 400); an unvoiced frame takes a
  frame-centred, Hann-windowed 400-sample residual segment. Each pulse has unit
  energy (all-zero segments stay zero).

Two passes keep memory bounded: pass 1 analyses each utterance, caches its
features in a temporary folder and accumulates the training statistics; pass 2
z-normalises and writes ``data.nc1 ... data.ncK`` (``--files_per_nc``
utterances each) into the train and test folders, then replaces old files.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corpus.readers import list_wavs
from dsp.audio import InputError, load_audio
from dsp.mfcc import MfccConfig, analyze
from resgan.constants import CENTRE, FRAME_HOP, INPUT_COLUMNS, PULSE_LENGTH, SAMPLE_RATE
from resgan.figures import plot_utterance
from resgan.gci import excitation_marks, inverse_filter, pulse_centring
from resgan.netcdf import list_data_files, write_netcdf
from resgan.pitch import interpolated_log_f0, yin

F0_METHOD = "vectorised YIN (resgan.pitch.yin), 60-400 Hz"


@dataclass
class UtteranceFeatures:
    """Packaged features of one utterance (n = number of 5 ms frames).

    inputs: float32 [n, 22]; targets: float32 [n, 400] unit-energy pulses;
    f0: float32 [n] Hz (0 unvoiced); voiced: bool [n] (the flag in column 21);
    gci: int64 [k] sample indices; residual: float32 [samples].
    """

    inputs: np.ndarray
    targets: np.ndarray
    f0: np.ndarray
    voiced: np.ndarray
    gci: np.ndarray
    residual: np.ndarray


def _hann_weights(half: np.ndarray) -> np.ndarray:
    """[n, 400] symmetric Hann windows of length 2*half+1 centred at index 200."""
    k = np.arange(PULSE_LENGTH)[None, :] - CENTRE
    h = half[:, None].astype(np.float64)
    w = 0.5 * (1.0 + np.cos(np.pi * k / (h + 1.0)))
    return np.where(np.abs(k) <= h, w, 0.0)


def extract_pulses(residual: np.ndarray, gci: np.ndarray, f0: np.ndarray, voiced: np.ndarray,
                   hop: int = FRAME_HOP, sr: int = SAMPLE_RATE):
    """Pulses [n_frames, 400] and the per-frame flag "voiced pulse" (bool [n_frames]).

    A voiced frame (voiced and a pulse centre ``gci`` within two periods of its
    centre) takes the two-period segment around its nearest pulse centre; others a
    frame-centred 400-sample segment. Every non-silent pulse has unit energy.
    """
    n_frames = f0.shape[0]
    centres = np.arange(n_frames) * hop
    padded = np.concatenate([np.zeros(CENTRE), np.asarray(residual, np.float64), np.zeros(CENTRE)])
    period = np.where(f0 > 0, sr / np.maximum(f0, 1e-3), np.inf)
    pulse_voiced = np.zeros(n_frames, dtype=bool)
    anchor = centres.copy()
    if gci.size:
        j = np.clip(np.searchsorted(gci, centres), 1, gci.size - 1) if gci.size > 1 else np.zeros(n_frames, int)
        if gci.size > 1:
            before, after = gci[j - 1], gci[j]
            nearest = np.where(centres - before <= after - centres, before, after)
        else:
            nearest = np.full(n_frames, gci[0])
        pulse_voiced = voiced & (np.abs(nearest - centres) <= 2 * period)
        anchor = np.where(pulse_voiced, nearest, centres)
    half = np.where(pulse_voiced, np.minimum(np.round(np.where(np.isfinite(period), period, 0)),
                                             CENTRE - 1), CENTRE)
    idx = anchor[:, None] + np.arange(PULSE_LENGTH)[None, :]  # padded index of anchor-200+k
    idx = np.clip(idx, 0, padded.shape[0] - 1)
    pulses = padded[idx] * _hann_weights(half.astype(np.int64))
    energy = np.sum(pulses ** 2, axis=1, keepdims=True)
    pulses = np.where(energy > 1e-20, pulses / np.sqrt(np.maximum(energy, 1e-20)), 0.0)
    return pulses.astype(np.float32), pulse_voiced


def analyze_utterance(x: np.ndarray, sr: int = SAMPLE_RATE, cfg: MfccConfig = MfccConfig(),
                      fmin: float = 60.0, fmax: float = 400.0) -> UtteranceFeatures:
    """Inputs and target pulses of one utterance (x float [n] at ``cfg.sample_rate``)."""
    if sr != cfg.sample_rate:
        raise ValueError(f"expected {cfg.sample_rate} Hz audio, got {sr} Hz")
    x = np.asarray(x, dtype=np.float64)
    mf = analyze(x, cfg)
    n_frames = mf.mfcc.shape[0]
    pitch = yin(x, sr, cfg.hop_size, n_frames, fmin=fmin, fmax=fmax)
    residual = inverse_filter(x, mf.lsf, cfg.hop_size, cfg.preemphasis)
    marks = excitation_marks(residual, pitch.f0, pitch.voiced, cfg.hop_size, sr)
    residual = marks.sign * residual  # an inverted recording is flipped: closure peaks positive
    gci = marks.gci
    pulses, pulse_voiced = extract_pulses(residual, marks.centres, pitch.f0, pitch.voiced,
                                          cfg.hop_size, sr)
    f0 = np.where(pulse_voiced, pitch.f0, 0.0).astype(np.float32)
    inputs = np.concatenate([mf.mfcc.astype(np.float32),
                             interpolated_log_f0(f0, pulse_voiced)[:, None],
                             pulse_voiced.astype(np.float32)[:, None]], axis=1)
    return UtteranceFeatures(inputs, pulses, f0, pulse_voiced, gci, residual.astype(np.float32))


# --------------------------------------------------------------------------- corpus driver

class _RunningStats:
    """Column means and standard deviations accumulated in float64."""

    def __init__(self):
        self.n, self.s, self.ss = 0, None, None

    def add(self, a: np.ndarray):
        a = a.astype(np.float64)
        if self.s is None:
            self.s, self.ss = np.zeros(a.shape[1]), np.zeros(a.shape[1])
        self.n += a.shape[0]
        self.s += a.sum(0)
        self.ss += (a ** 2).sum(0)

    def result(self):
        mean = self.s / self.n
        std = np.sqrt(np.maximum(self.ss / self.n - mean ** 2, 0.0))
        std[std < 1e-6] = 1.0  # constant columns (e.g. all-zero pulse edges) stay as they are
        return mean.astype(np.float32), std.astype(np.float32)


def split_tags(tags: list, test_fraction: float, seed: int):
    """(train_tags, test_tags), each in input order; at least one of each when possible."""
    n = len(tags)
    n_test = int(round(test_fraction * n))
    if test_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    test = set(np.random.default_rng(seed).choice(n, size=n_test, replace=False).tolist()) if n_test else set()
    return [t for i, t in enumerate(tags) if i not in test], [t for i, t in enumerate(tags) if i in test]


def _tags_for(wavs: list, root: Path) -> list:
    stems = [w.stem for w in wavs]
    if len(set(stems)) == len(stems):
        return stems
    return [str(w.relative_to(root).with_suffix("")).replace(os.sep, "_") for w in wavs]


def _install(staging: Path, target: Path):
    """Replace target's data.nc* by the staged files.

    The staged files were written completely (atomically) beside the target, in
    the temporary folder of the run; moving them in with os.replace is a quick
    rename on the same file system (not a hand-written atomic write of a result).
    """
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("data.nc*"):
        old.unlink()
    for new in sorted(staging.glob("data.nc*")):
        os.replace(new, target / new.name)


def _analyse_file(job):
    """Worker: (wav, fmin, fmax, keep_signal) -> (x or None, feats, error, n_samples); x at 16 kHz."""
    wav, fmin, fmax, keep_signal = job
    cfg = MfccConfig()
    try:
        x, _ = load_audio(wav, sr=SAMPLE_RATE, min_samples=cfg.win_length)
        feats = analyze_utterance(x, SAMPLE_RATE, cfg, fmin, fmax)
        for name, a in (("inputs", feats.inputs), ("targets", feats.targets)):
            if not np.all(np.isfinite(a)):
                raise InputError(f"{wav}: non-finite {name} after analysis")
    except InputError as exc:
        return None, None, str(exc), 0
    n_samples = len(x)
    if not keep_signal:
        x, feats.residual = None, None  # not needed: keep inter-process traffic small
    return x, feats, None, n_samples


def _analysed(jobs_list, n_jobs):
    """Yield the workers' results in order (in this process when n_jobs == 1)."""
    if n_jobs <= 1:
        yield from map(_analyse_file, jobs_list)
        return
    # spawn, not fork: the caller may hold TensorFlow/OpenMP threads that do not survive a fork
    pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield from pool.map(_analyse_file, jobs_list, chunksize=1)
    finally:  # also on an error in the caller: drop pending work, reap the workers
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _FirstPass:
    """What pass 1 (analysis) leaves for pass 2 (normalise and write)."""

    inputs: _RunningStats = field(default_factory=_RunningStats)   # training utterances only
    targets: _RunningStats = field(default_factory=_RunningStats)
    seconds: float = 0.0
    skipped: list = field(default_factory=list)
    voiced_pulses: int = 0     # training utterances' voiced pulses ...
    centred_pulses: int = 0    # ... whose main peak is within +-3 samples of the centre


def _analyse_corpus(wavs, tags, test_tags, tmp, fmin, fmax, jobs, skip_bad, figures_every,
                    figures_dir, progress) -> _FirstPass:
    """Pass 1: analyse every file, cache ``<i>_in.npy`` / ``<i>_out.npy`` in ``tmp``,
    accumulate the training statistics and draw every ``figures_every``-th utterance."""
    jobs_list = [(wav, fmin, fmax, bool(figures_every) and i % figures_every == 0)
                 for i, wav in enumerate(wavs)]
    done = _FirstPass()
    results = _analysed(jobs_list, jobs)
    try:
        for i, (x, feats, error, n_samples) in enumerate(
                tqdm(results, total=len(tags), desc="packaging", unit="utt", disable=not progress)):
            tag = tags[i]
            if error is not None:
                if not skip_bad:
                    raise InputError(error)
                print(f"warning: skipped {error}", file=sys.stderr)
                done.skipped.append(tag)
                continue
            done.seconds += n_samples / SAMPLE_RATE
            np.save(tmp / f"{i}_in.npy", feats.inputs)
            np.save(tmp / f"{i}_out.npy", feats.targets)
            if tag not in test_tags:
                done.inputs.add(feats.inputs)
                done.targets.add(feats.targets)
                centring = pulse_centring(feats.targets, feats.voiced)
                done.voiced_pulses += centring["n_voiced"]
                done.centred_pulses += centring["n_within"]
            if x is not None:
                plot_utterance(Path(figures_dir) / f"packaging_{tag}.png", tag, x, feats,
                               SAMPLE_RATE, FRAME_HOP)
    finally:
        results.close()
    return done


def _file_attributes(cfg: MfccConfig, split: str) -> dict:
    """Global attributes of every packaged data file."""
    return {
        "input_columns": INPUT_COLUMNS,
        "target_description": "400-sample excitation pulses: two pitch periods centred at the "
                              "main residual peak next to the nearest GCI (index 200), "
                              "Hann-windowed, unit energy; unvoiced frames: frame-centred "
                              "Hann-windowed residual",
        "sample_rate": SAMPLE_RATE, "frame_hop": cfg.hop_size, "pulse_length": PULSE_LENGTH,
        "f0_method": F0_METHOD, "mfcc_config": str(cfg.to_dict()),
        "source": "python data_utils.py package", "split": split,
    }


def _write_split(tmp, split, split_tags, index, stats, files_per_nc) -> Path:
    """Pass 2 for one split: z-normalise the cached features with the training
    statistics and write ``data.nc1 ...`` into ``tmp/<split>``; returns that folder."""
    (in_mean, in_std), (out_mean, out_std) = stats.inputs.result(), stats.targets.result()
    attrs = _file_attributes(MfccConfig(), split)
    staging = tmp / split
    staging.mkdir()
    for k in range(0, len(split_tags), files_per_nc):
        chunk = split_tags[k:k + files_per_nc]
        ins = [np.load(tmp / f"{index[t]}_in.npy") for t in chunk]
        outs = [np.load(tmp / f"{index[t]}_out.npy") for t in chunk]
        write_netcdf(staging / f"data.nc{k // files_per_nc + 1}",
                     (np.concatenate(ins) - in_mean) / in_std, (np.concatenate(outs) - out_mean) / out_std,
                     [a.shape[0] for a in ins], chunk, in_mean, in_std, out_mean, out_std, attrs=attrs)
    return staging


def _check_options(files_per_nc, test_fraction, fmin, fmax):
    if files_per_nc < 1:
        raise InputError(f"--files_per_nc must be >= 1, got {files_per_nc}")
    if not 0.0 <= test_fraction < 1.0:
        raise InputError(f"--test_fraction must be in [0, 1), got {test_fraction}")
    if not 0 < fmin < fmax:
        raise InputError(f"need 0 < fmin < fmax, got {fmin}, {fmax}")


def package(wav_dir, out_dir="traindata", test_dir="testdata", test_fraction: float = 0.05,
            files_per_nc: int = 100, figures_every: int = 50, figures_dir="figures", seed: int = 0,
            fmin: float = 60.0, fmax: float = 400.0, max_files: int | None = None,
            progress: bool = True, jobs: int = 1, skip_bad: bool = False) -> dict:
    """Package every audio file under ``wav_dir`` into CURRENNT data files.

    Args:
        wav_dir: folder of .wav/.flac files (searched recursively).
        out_dir, test_dir: output folders for data.nc1 ... data.ncK.
        test_fraction: fraction of utterances for the test split (default 0.05).
        files_per_nc: utterances per data file (default 100).
        figures_every: a figure per this many utterances into figures_dir (0: none).
        seed: split seed. fmin, fmax: F0 search range (Hz).
        max_files: package only the first N files (quick runs).
        jobs: worker processes for the analysis (default 1).
        skip_bad: skip unusable files with a warning instead of stopping (default False).

    Returns:
        dict with n_train, n_test, train_files, test_files, skipped, seconds (audio),
        cpu_seconds (this process and its workers), centred (fraction of the training
        utterances' voiced pulses whose largest-magnitude sample is within +-3 samples of
        index 200; NaN without voiced pulses).
    """
    wav_dir, out_dir, test_dir = Path(wav_dir), Path(out_dir), Path(test_dir)
    _check_options(files_per_nc, test_fraction, fmin, fmax)
    wavs = list_wavs(wav_dir)[:max_files] if max_files else list_wavs(wav_dir)
    tags = _tags_for(wavs, wav_dir)
    train_tags, test_tags = split_tags(tags, test_fraction, seed)
    for folder in (out_dir, test_dir):
        folder.mkdir(parents=True, exist_ok=True)
    cpu0 = time.process_time() + _children_cpu()
    with tempfile.TemporaryDirectory(prefix=".packaging_", dir=out_dir) as tmp:
        tmp = Path(tmp)
        first = _analyse_corpus(wavs, tags, set(test_tags), tmp, fmin, fmax, jobs, skip_bad,
                                figures_every, figures_dir, progress)
        dropped = set(first.skipped)
        train_tags = [t for t in train_tags if t not in dropped]
        test_tags = [t for t in test_tags if t not in dropped]
        if not train_tags:
            raise InputError(f"{wav_dir}: no usable training utterance")
        index = {tag: i for i, tag in enumerate(tags)}
        staged = {split: _write_split(tmp, split, split_tags_, index, first, files_per_nc)
                  for split, split_tags_ in (("train", train_tags), ("test", test_tags))}
        _install(staged["train"], out_dir)
        _install(staged["test"], test_dir)
    cpu = time.process_time() + _children_cpu() - cpu0
    return {"n_train": len(train_tags), "n_test": len(test_tags), "skipped": first.skipped,
            "train_files": list_data_files(out_dir) if train_tags else [],
            "test_files": list_data_files(test_dir) if test_tags else [],
            "seconds": first.seconds, "cpu_seconds": cpu,
            "centred": first.centred_pulses / first.voiced_pulses if first.voiced_pulses else float("nan")}


def _children_cpu() -> float:
    """CPU seconds of terminated child processes (the analysis workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
