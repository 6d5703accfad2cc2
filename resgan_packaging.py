"""Package a folder of speech recordings into ResGAN training data.

``python data_utils.py package --wav_dir DIR --out_dir traindata --test_dir testdata``

Per utterance, at 16 kHz with a 5 ms hop (80 samples, as get_mfcc.py):

* inputs [n_frames, 22]: the 20 MFCCs of get_mfcc.py (``dsp.mfcc.analyze``,
  c0 = frame energy in dB), ln F0 linearly interpolated over unvoiced frames,
  and a voicing flag (``resgan_pitch.yin``: vectorised YIN, see there why not pYIN);
* targets [n_frames, 400]: excitation pulses. The pre-emphasised speech is
  inverse-filtered with get_mfcc.py's all-pole model (LSFs interpolated per
  sample block, ``resgan_gci.inverse_filter``); GCIs are tracked period to
  period in voiced regions (``resgan_gci.find_gcis``). A voiced frame takes the
  two-period residual segment centred at its nearest GCI, Hann-windowed and
  centred at index 200 of 400 zeros (capped at 400); an unvoiced frame takes a
  frame-centred, Hann-windowed 400-sample residual segment. Each pulse has unit
  energy (all-zero segments stay zero).

Two passes keep memory bounded: pass 1 analyses each utterance, caches its
features in a temporary folder and accumulates the training statistics; pass 2
z-normalises and writes ``data.nc1 ... data.ncK`` (``--files_per_nc``
utterances each) into the train and test folders, then replaces old files.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsp.audio import InputError, load_audio, notice
from dsp.mfcc import MfccConfig, analyze
from resgan_gci import find_gcis, glottal_derivative, inverse_filter, polarity, refine_gcis
from resgan_pitch import interpolated_log_f0, yin

SAMPLE_RATE = 16000
PULSE_LENGTH = 400
CENTRE = PULSE_LENGTH // 2
REFINE_RADIUS = 8  # samples: snap a GCI to the main residual peak next to it
F0_METHOD = "vectorised YIN (resgan_pitch.yin), 60-400 Hz"


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
                   hop: int = 80, sr: int = SAMPLE_RATE):
    """Pulses [n_frames, 400] and the per-frame flag "voiced pulse" (bool [n_frames]).

    A voiced frame (voiced and a GCI within two periods of its centre) takes the
    two-period segment around its nearest GCI; others a frame-centred 400-sample
    segment. Every non-silent pulse has unit energy.
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
    derivative = glottal_derivative(residual, cfg.preemphasis)
    if polarity(derivative, pitch.voiced, cfg.hop_size) < 0:
        # inverted recording (e.g. LJSpeech): flip so that every pulse has the same polarity
        residual, derivative = -residual, -derivative
    gci = find_gcis(derivative, pitch.f0, pitch.voiced, cfg.hop_size, sr)
    gci = refine_gcis(residual, gci, REFINE_RADIUS)
    pulses, pulse_voiced = extract_pulses(residual, gci, pitch.f0, pitch.voiced, cfg.hop_size, sr)
    f0 = np.where(pulse_voiced, pitch.f0, 0.0).astype(np.float32)
    inputs = np.concatenate([mf.mfcc.astype(np.float32),
                             interpolated_log_f0(f0, pulse_voiced)[:, None],
                             pulse_voiced.astype(np.float32)[:, None]], axis=1)
    return UtteranceFeatures(inputs, pulses, f0, pulse_voiced, gci, residual.astype(np.float32))


# --------------------------------------------------------------------------- figures

def plot_utterance(path: Path, tag: str, x: np.ndarray, feats: UtteranceFeatures,
                   sr: int = SAMPLE_RATE, hop: int = 80):
    """Figure: speech and residual with GCIs (60 ms excerpt), F0 track, a few pulses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(11, 9))
    ax = axes[0]
    centre = int(feats.gci[len(feats.gci) // 2]) if feats.gci.size else len(x) // 2
    a, b = max(0, centre - int(0.03 * sr)), min(len(x), centre + int(0.03 * sr))
    t_ms = np.arange(a, b) / sr * 1000.0
    ax.plot(t_ms, x[a:b] / (np.abs(x[a:b]).max() + 1e-9), lw=1.0, label="speech")
    res = feats.residual[a:b]
    ax.plot(t_ms, res / (np.abs(res).max() + 1e-9) - 2.2, lw=0.8, color="C1", label="residual")
    for g in feats.gci[(feats.gci >= a) & (feats.gci < b)]:
        ax.axvline(g / sr * 1000.0, color="C3", lw=0.8, ls="--")
    ax.set_xlabel("time (ms)")
    ax.set_yticks([])
    ax.set_title(f"{tag}: speech and excitation residual, GCIs dashed (60 ms excerpt)")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[1]
    frames_s = np.arange(feats.f0.shape[0]) * hop / sr
    t = np.arange(len(x)) / sr
    ax.plot(t, x / (np.abs(x).max() + 1e-9) * 0.5 * max(feats.f0.max(), 100) + 0.5 * max(feats.f0.max(), 100),
            lw=0.3, color="0.7")
    f0 = np.where(feats.voiced, feats.f0, np.nan)
    ax.plot(frames_s, f0, color="C0", lw=1.5, label="F0 (voiced frames)")
    ax.plot(frames_s, np.exp(feats.inputs[:, 20]), color="C0", lw=0.6, ls=":",
            label="interpolated F0 (input column 20)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("Hz")
    ax.set_title(f"F0 track ({feats.gci.size} GCIs, {feats.voiced.mean() * 100:.0f} % voiced frames)")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[2]
    k = np.arange(PULSE_LENGTH) - CENTRE
    voiced_rows = np.flatnonzero(feats.voiced)
    for i, r in enumerate(voiced_rows[np.linspace(0, voiced_rows.size - 1, 4).astype(int)] if voiced_rows.size else []):
        ax.plot(k, feats.targets[r] + 0.0 * i, lw=1.0, label=f"voiced frame {r} (F0 {feats.f0[r]:.0f} Hz)")
    unvoiced_rows = np.flatnonzero(~feats.voiced & (np.abs(feats.targets).sum(1) > 0))
    if unvoiced_rows.size:
        r = unvoiced_rows[unvoiced_rows.size // 2]
        ax.plot(k, feats.targets[r], lw=0.6, color="0.5", label=f"unvoiced frame {r}")
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("sample relative to the pulse centre (index 200)")
    ax.set_title("target pulses (unit energy)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


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
    """Replace target's data.nc* by the staged files (moved, so the swap is quick)."""
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("data.nc*"):
        old.unlink()
    for new in sorted(staging.glob("data.nc*")):
        os.replace(new, target / new.name)


def _analyse_file(job):
    """Worker: (wav, fmin, fmax, keep_signal) -> (x or None, feats, error, file_sr, n_samples)."""
    from dsp.audio import resample

    wav, fmin, fmax, keep_signal = job
    cfg = MfccConfig()
    try:
        x, file_sr = load_audio(wav, min_samples=cfg.win_length)
        if file_sr != SAMPLE_RATE:
            x = resample(x, file_sr, SAMPLE_RATE)
        feats = analyze_utterance(x, SAMPLE_RATE, cfg, fmin, fmax)
        for name, a in (("inputs", feats.inputs), ("targets", feats.targets)):
            if not np.all(np.isfinite(a)):
                raise InputError(f"{wav}: non-finite {name} after analysis")
    except InputError as exc:
        return None, None, str(exc), None, 0
    n_samples = len(x)
    if not keep_signal:
        x, feats.residual = None, None  # not needed: keep inter-process traffic small
    return x, feats, None, file_sr, n_samples


def _analysed(jobs_list, n_jobs):
    """Yield the workers' results in order (in this process when n_jobs == 1)."""
    if n_jobs <= 1:
        yield from map(_analyse_file, jobs_list)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the caller may hold TensorFlow/OpenMP threads that do not survive a fork
    pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield from pool.map(_analyse_file, jobs_list, chunksize=1)
    finally:  # also on an error in the caller: drop pending work, reap the workers
        pool.shutdown(wait=True, cancel_futures=True)


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
        cpu_seconds (this process and its workers).
    """
    import sys
    import time

    import data_utils
    from corpus.readers import list_wavs

    wav_dir, out_dir, test_dir = Path(wav_dir), Path(out_dir), Path(test_dir)
    if files_per_nc < 1:
        raise InputError(f"--files_per_nc must be >= 1, got {files_per_nc}")
    if not 0.0 <= test_fraction < 1.0:
        raise InputError(f"--test_fraction must be in [0, 1), got {test_fraction}")
    if not 0 < fmin < fmax:
        raise InputError(f"need 0 < fmin < fmax, got {fmin}, {fmax}")
    wavs = list_wavs(wav_dir)[:max_files] if max_files else list_wavs(wav_dir)
    tags = _tags_for(wavs, wav_dir)
    train_tags, test_tags = split_tags(tags, test_fraction, seed)
    is_test = set(test_tags)
    cfg = MfccConfig()
    for folder in (out_dir, test_dir):
        folder.mkdir(parents=True, exist_ok=True)

    from tqdm import tqdm

    cpu0 = time.process_time() + _children_cpu()
    seconds, resampled_from, skipped = 0.0, set(), []
    in_stats, out_stats = _RunningStats(), _RunningStats()
    with tempfile.TemporaryDirectory(prefix=".packaging_", dir=out_dir) as tmp:
        tmp = Path(tmp)
        jobs_list = [(wav, fmin, fmax, bool(figures_every) and i % figures_every == 0)
                     for i, wav in enumerate(wavs)]
        results = _analysed(jobs_list, jobs)
        try:
            for i, (x, feats, error, file_sr, n_samples) in enumerate(
                    tqdm(results, total=len(tags), desc="packaging", unit="utt", disable=not progress)):
                tag = tags[i]
                if error is not None:
                    if not skip_bad:
                        raise InputError(error)
                    print(f"warning: skipped {error}", file=sys.stderr)
                    skipped.append(tag)
                    continue
                if file_sr != SAMPLE_RATE:
                    resampled_from.add(file_sr)
                seconds += n_samples / SAMPLE_RATE
                np.save(tmp / f"{i}_in.npy", feats.inputs)
                np.save(tmp / f"{i}_out.npy", feats.targets)
                if tag not in is_test:
                    in_stats.add(feats.inputs)
                    out_stats.add(feats.targets)
                if x is not None:
                    plot_utterance(Path(figures_dir) / f"packaging_{tag}.png", tag, x, feats, SAMPLE_RATE,
                                   cfg.hop_size)
        finally:
            results.close()
        if skipped:
            dropped = set(skipped)
            train_tags = [t for t in train_tags if t not in dropped]
            test_tags = [t for t in test_tags if t not in dropped]
        if not train_tags:
            raise InputError(f"{wav_dir}: no usable training utterance")
        if resampled_from:
            notice(f"resampled files at {sorted(resampled_from)} Hz to {SAMPLE_RATE} Hz")
        in_mean, in_std = in_stats.result()
        out_mean, out_std = out_stats.result()
        attrs = {
            "input_columns": data_utils.INPUT_COLUMNS,
            "target_description": "400-sample excitation pulses: two pitch periods centred at the "
                                  "nearest GCI (index 200), Hann-windowed, unit energy; unvoiced "
                                  "frames: frame-centred Hann-windowed residual",
            "sample_rate": SAMPLE_RATE, "frame_hop": cfg.hop_size, "pulse_length": PULSE_LENGTH,
            "f0_method": F0_METHOD, "mfcc_config": str(cfg.to_dict()),
            "source": "python data_utils.py package",
        }
        index = {tag: i for i, tag in enumerate(tags)}
        written = {}
        for split, split_tags_, target in (("train", train_tags, out_dir), ("test", test_tags, test_dir)):
            staging = tmp / split
            staging.mkdir()
            for k in range(0, len(split_tags_), files_per_nc):
                chunk = split_tags_[k:k + files_per_nc]
                ins = [np.load(tmp / f"{index[t]}_in.npy") for t in chunk]
                outs = [np.load(tmp / f"{index[t]}_out.npy") for t in chunk]
                data_utils.write_netcdf(
                    staging / f"data.nc{k // files_per_nc + 1}",
                    (np.concatenate(ins) - in_mean) / in_std, (np.concatenate(outs) - out_mean) / out_std,
                    [a.shape[0] for a in ins], chunk, in_mean, in_std, out_mean, out_std,
                    attrs=dict(attrs, split=split))
            written[split] = staging
        for split, target in (("train", out_dir), ("test", test_dir)):
            _install(written[split], target)
    cpu = time.process_time() + _children_cpu() - cpu0
    return {"n_train": len(train_tags), "n_test": len(test_tags), "skipped": skipped,
            "train_files": data_utils.list_data_files(out_dir) if train_tags else [],
            "test_files": data_utils.list_data_files(test_dir) if test_tags else [],
            "seconds": seconds, "cpu_seconds": cpu}


def _children_cpu() -> float:
    """CPU seconds of terminated child processes (the analysis workers)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def add_package_arguments(parser):
    """The ``package`` subcommand's flags."""
    parser.add_argument("--wav_dir", type=Path, required=True,
                        help="folder of speech recordings (.wav/.flac, searched recursively; any rate, "
                             "resampled to 16 kHz)")
    parser.add_argument("--out_dir", type=Path, default=Path("traindata"), help="training data folder")
    parser.add_argument("--test_dir", type=Path, default=Path("testdata"), help="test data folder")
    parser.add_argument("--test_fraction", type=float, default=0.05,
                        help="fraction of utterances in the test split (default 0.05)")
    parser.add_argument("--files_per_nc", type=int, default=100,
                        help="utterances per data.ncK file (default 100)")
    parser.add_argument("--figures_every", type=int, default=50,
                        help="write a figure every N utterances (0: none; default 50)")
    parser.add_argument("--figures_dir", type=Path, default=Path("figures"))
    parser.add_argument("--fmin", type=float, default=60.0, help="lowest F0 searched (Hz)")
    parser.add_argument("--fmax", type=float, default=400.0, help="highest F0 searched (Hz)")
    parser.add_argument("--max_files", type=int, default=None, help="package only the first N files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the analysis (default 1)")
    parser.add_argument("--skip_bad", action="store_true",
                        help="skip unusable files (corrupt, silent, too short) with a warning instead of stopping")


def package_from_args(args):
    summary = package(args.wav_dir, args.out_dir, args.test_dir, args.test_fraction, args.files_per_nc,
                      args.figures_every, args.figures_dir, args.seed, args.fmin, args.fmax,
                      args.max_files, jobs=args.jobs, skip_bad=args.skip_bad)
    speed = summary["seconds"] / max(summary["cpu_seconds"], 1e-9)
    print(f"packaged {summary['n_train']} training utterances into {len(summary['train_files'])} "
          f"file(s) in {args.out_dir}, {summary['n_test']} test utterances into "
          f"{len(summary['test_files'])} file(s) in {args.test_dir}, {len(summary['skipped'])} skipped "
          f"({summary['seconds']:.1f} s of audio, {speed:.1f}x real time in CPU time, figures included)")
    return summary
