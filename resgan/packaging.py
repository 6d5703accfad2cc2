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

Two passes keep memory bounded: pass 1 analyses each utterance and caches its
features with their column sums (``resgan.shards.ShardWriter``); pass 2
(``resgan.shards.merge_folder``) decides the train/test split, adds the training
sums in file order for the statistics, z-normalises and writes ``data.nc1 ...
data.ncK`` (``--files_per_nc`` utterances each) into the train and test folders,
then replaces old files. One-shot packaging is one shard 1/1 in a temporary
folder; ``--shard I/N`` runs pass 1 on a 1/N of the files into ``OUT_DIR/shards``
and ``data_utils.py merge`` runs pass 2 (same code, same bytes).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corpus.readers import list_wavs
from dsp.audio import InputError, load_audio
from dsp.mfcc import MfccConfig, analyze
from resgan.constants import CENTRE, FRAME_HOP, PULSE_LENGTH, SAMPLE_RATE
from resgan.figures import plot_utterance
from resgan.gci import excitation_marks, inverse_filter, pulse_centring
from resgan.pitch import interpolated_log_f0, yin
from resgan.shards import SHARD_DIR, ShardWriter, merge_folder, parse_shard, shard_indices


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

def _tags_for(wavs: list, root: Path) -> list:
    stems = [w.stem for w in wavs]
    if len(set(stems)) == len(stems):
        return stems
    return [str(w.relative_to(root).with_suffix("")).replace(os.sep, "_") for w in wavs]


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


def _analyse_shard(writer: ShardWriter, wavs, tags, indices, fmin, fmax, jobs, skip_bad, figures_every,
                   figures_dir, progress) -> dict:
    """Pass 1 for the files ``indices`` of the global list: analyse each, hand it to ``writer``
    (features and sufficient statistics, see resgan.shards) and draw every ``figures_every``-th
    utterance of the global list; returns the writer's summary."""
    jobs_list = [(wavs[i], fmin, fmax, bool(figures_every) and i % figures_every == 0) for i in indices]
    results = _analysed(jobs_list, jobs)
    try:
        for i, (x, feats, error, n_samples) in zip(indices, tqdm(
                results, total=len(indices), desc="packaging", unit="utt", disable=not progress)):
            tag = tags[i]
            if error is not None:
                if not skip_bad:
                    raise InputError(error)
                print(f"warning: skipped {error}", file=sys.stderr)
                writer.skip(i, tag, error)
                continue
            writer.add(i, tag, feats, n_samples, pulse_centring(feats.targets, feats.voiced))
            if x is not None:
                plot_utterance(Path(figures_dir) / f"packaging_{tag}.png", tag, x, feats,
                               SAMPLE_RATE, FRAME_HOP)
    finally:
        results.close()
    return writer.finish()


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
            progress: bool = True, jobs: int = 1, skip_bad: bool = False, shard=None) -> dict:
    """Package every audio file under ``wav_dir`` into CURRENNT data files (or one shard of them).

    One-shot (``shard=None``): all files are analysed as one shard 1/1 into a temporary
    folder, then merged by ``resgan.shards.merge_folder``, the code that merges N shards.

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
        shard: None, or (I, N) with 1 <= I <= N: analyse only files I, I+N, ... (1-based) of
            the sorted list into ``out_dir/shards`` and write no data.nc* (``resgan.shards.merge``
            does, once all N shards are there).

    Returns:
        One-shot: dict with n_train, n_test, train_files, test_files, skipped, seconds (audio),
        cpu_seconds (this process and its workers), centred (fraction of the training
        utterances' voiced pulses whose largest-magnitude sample is within +-3 samples of
        index 200; NaN without voiced pulses). A shard: dict with shard, n_files, skipped,
        seconds, cpu_seconds, manifest (its path).
    """
    wav_dir, out_dir, test_dir = Path(wav_dir), Path(out_dir), Path(test_dir)
    _check_options(files_per_nc, test_fraction, fmin, fmax)
    if shard is not None:
        shard = parse_shard(f"{shard[0]}/{shard[1]}")
    wavs = list_wavs(wav_dir)[:max_files] if max_files else list_wavs(wav_dir)
    tags = _tags_for(wavs, wav_dir)
    settings = {"test_fraction": test_fraction, "files_per_nc": files_per_nc, "seed": seed, "fmin": fmin,
                "fmax": fmax, "max_files": max_files, "skip_bad": skip_bad, "figures_every": figures_every}
    analyse = functools.partial(_analyse_shard, wavs=wavs, tags=tags, fmin=fmin, fmax=fmax, jobs=jobs,
                                skip_bad=skip_bad, figures_every=figures_every, figures_dir=figures_dir,
                                progress=progress)
    if shard is not None:   # the writer makes out_dir/shards; test_dir is merge's business
        writer = ShardWriter(out_dir / SHARD_DIR, shard, settings, wavs, tags, wav_dir)
        return analyse(writer, indices=shard_indices(len(wavs), shard))
    for folder in (out_dir, test_dir):
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".packaging_", dir=out_dir) as tmp:
        analyse(ShardWriter(tmp, (1, 1), settings, wavs, tags, wav_dir), indices=range(len(wavs)))
        return merge_folder(tmp, out_dir, test_dir)
