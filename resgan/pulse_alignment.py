"""How well the packaged voiced pulses are centred: before/after table and figure.

    python -m resgan.pulse_alignment ../shared/realdata/asterisk16k/{es,fr,it} \
        ../shared/realdata/ljspeech_sample/wavs --names es fr it LJ \
        --split train --max_files 20 --figure figures/resgan_pulse_alignment.png

For every folder (files at any rate, resampled to 16 kHz) the voiced pulses are
extracted twice from the same residual, F0 and voicing: with the GCIs of the
method used before issue 18 (``legacy_marks``: polarity from the skewness of the
de-emphasised residual, GCIs tracked on it and snapped to the largest
|residual| within +-8 samples) and with the current ``resgan.gci.excitation_marks``.
It prints, per folder and method, the fraction of voiced pulses whose largest-
magnitude sample lies within +-3 samples of index 200 (what ``data_utils.py
info`` prints for packaged data), the fraction whose largest sample is positive,
and the coherence (energy of the mean pulse / mean pulse energy), then one JSON line.

File subsets (fixed, documented so the numbers can be reproduced): a folder's
audio files sorted by relative path, file i is ``heldout`` when i % 3 == 2 and
``train`` otherwise; ``--max_files N`` keeps N files evenly spaced over the split.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from corpus.readers import list_wavs
from dsp.audio import InputError, cli_main, load_audio
from dsp.filters import de_emphasis
from dsp.mfcc import MfccConfig, analyze
from resgan.constants import CENTRE, SAMPLE_RATE
from resgan.gci import (excitation_marks, frame_period_samples, inverse_filter, pulse_centring,
                        voiced_regions)
from resgan.packaging import extract_pulses
from resgan.pitch import yin

METHODS = ("before", "after")


def legacy_marks(residual, f0, voiced, hop=80, sr=SAMPLE_RATE, radius=8, search=0.3):
    """The pre-issue-18 method, kept as the baseline: (sign, pulse centres).

    The de-emphasised residual (leaky integrator, slow drift removed) is flipped when
    its voiced samples are positively skewed; GCIs are its most negative samples,
    tracked period to period (+-``search`` of the period), then snapped to the
    largest |residual| sample within +-``radius`` samples.
    """
    import scipy.signal

    r = np.asarray(residual, dtype=np.float64)
    d = de_emphasis(r, 0.97)
    d = d - scipy.signal.lfilter([1.0 - 0.995], [1.0, -0.995], d)
    mask = np.repeat(np.asarray(voiced, bool), hop)[:d.shape[0]]
    v = d[mask] if mask.any() else d
    v = v - v.mean()
    sign = -1 if np.mean(v ** 3) > 0 else 1
    neg = -sign * d
    period, vmask = frame_period_samples(f0, voiced, r.shape[0], hop, sr)
    gcis = []
    for a, b in voiced_regions(vmask):
        if b - a < 2:
            continue
        found = [a + int(np.argmax(neg[a:b]))]
        for direction in (1, -1):
            g = found[0]
            while True:
                t = period[g]
                lo = int(np.floor(g + direction * t - search * t))
                hi = int(np.ceil(g + direction * t + search * t)) + 1
                if direction > 0 and lo >= b or direction < 0 and hi <= a:
                    break
                lo, hi = max(lo, a), min(hi, b)
                if hi - lo < 1:
                    break
                g = lo + int(np.argmax(neg[lo:hi]))
                if (g - found[-1 if direction > 0 else 0]) * direction <= 0:
                    break
                found.insert(len(found) if direction > 0 else 0, g)
        gcis.extend(found)
    g = np.asarray(gcis, dtype=np.int64)
    if g.size:
        idx = np.clip(g[:, None] + np.arange(-radius, radius + 1)[None, :], 0, r.shape[0] - 1)
        g = np.unique(idx[np.arange(g.size), np.argmax(np.abs(r[idx]), axis=1)])
    return sign, g


def voiced_pulses(x, sr=SAMPLE_RATE) -> dict:
    """{method: (pulses [n_frames, 400], voiced bool [n_frames])} for one 16 kHz utterance."""
    cfg = MfccConfig()
    x = np.asarray(x, dtype=np.float64)
    mf = analyze(x, cfg)
    pitch = yin(x, sr, cfg.hop_size, mf.mfcc.shape[0])
    residual = inverse_filter(x, mf.lsf, cfg.hop_size, cfg.preemphasis)
    marks = excitation_marks(residual, pitch.f0, pitch.voiced, cfg.hop_size, sr)
    out = {"after": (marks.sign, marks.centres),
           "before": legacy_marks(residual, pitch.f0, pitch.voiced, cfg.hop_size, sr)}
    return {m: extract_pulses(sign * residual, centres, pitch.f0, pitch.voiced, cfg.hop_size, sr)
            for m, (sign, centres) in out.items()}


def subset_files(folder, split="train", max_files=None) -> list[Path]:
    """The audio files of a split of ``folder`` (see the module docstring)."""
    files = list_wavs(folder)
    idx = np.arange(len(files))
    if split != "all":
        idx = idx[idx % 3 == 2] if split == "heldout" else idx[idx % 3 != 2]
    if max_files and idx.size > max_files:
        idx = idx[np.unique(np.round(np.linspace(0, idx.size - 1, max_files)).astype(int))]
    if idx.size == 0:
        raise InputError(f"{folder}: no file in the {split} split ({len(files)} files in all)")
    return [files[i] for i in idx]


def measure_folder(files) -> dict:
    """Centring statistics of both methods over ``files``, plus the voiced pulses."""
    pulses = {m: [] for m in METHODS}
    seconds = 0.0
    for path in files:
        x, _ = load_audio(path, sr=SAMPLE_RATE)
        seconds += len(x) / SAMPLE_RATE
        for m, (p, v) in voiced_pulses(x).items():
            pulses[m].append(p[v])
    stacked = {m: np.concatenate(pulses[m]) for m in METHODS}
    stats = {m: pulse_centring(stacked[m], np.ones(len(stacked[m]), bool)) for m in METHODS}
    return {"files": len(files), "seconds": round(seconds, 1), "stats": stats, "pulses": stacked}


def plot_alignment(path, results: dict, span: int = 100, max_rows: int = 300, note: str = ""):
    """Figure: per folder, the voiced pulses (rows, +-span samples) before and after, and
    the mean pulses; ``note`` ends the title (e.g. which files)."""
    from resgan.figures import _plt, _save

    plt = _plt()
    names = list(results)
    fig, axes = plt.subplots(3, len(names), figsize=(3.6 * len(names), 9), squeeze=False,
                             gridspec_kw={"height_ratios": [2, 2, 1.3]})
    k = np.arange(-span, span + 1)
    for c, name in enumerate(names):
        res = results[name]
        for r, m in enumerate(METHODS):
            p = res["pulses"][m][:, CENTRE - span:CENTRE + span + 1]
            if len(p) > max_rows:
                p = p[np.unique(np.linspace(0, len(p) - 1, max_rows).astype(int))]
            ax = axes[r, c]
            if len(p):
                ax.imshow(p, aspect="auto", cmap="RdBu_r", vmin=-0.3, vmax=0.3, interpolation="nearest",
                          extent=(-span - 0.5, span + 0.5, len(p), 0))
            s = res["stats"][m]
            ax.set_title(f"{name} {m}: {s['within'] * 100:.1f} % within +-3\n"
                         f"coherence {s['coherence']:.3f}, {s['positive'] * 100:.0f} % positive", fontsize=9)
            ax.set_ylabel("voiced pulse (time order)" if c == 0 else "")
        for m, style in (("after", dict(color="C3", lw=1.6)), ("before", dict(color="k", lw=1.0, ls="--"))):
            if len(res["pulses"][m]):
                axes[2, c].plot(k, res["pulses"][m][:, CENTRE - span:CENTRE + span + 1].mean(0), label=m,
                                **style)
        axes[2, c].set_xlabel("sample relative to the pulse centre")
        axes[2, c].set_title(f"{name}: mean voiced pulse ({res['files']} files)", fontsize=9)
        axes[2, c].legend(fontsize=8)
    fig.suptitle("ResGAN voiced target pulses, aligned at index 200: before (pre-issue-18 GCIs) "
                 f"and after (resgan.gci.excitation_marks){note}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m resgan.pulse_alignment", description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", type=Path, help="folders of recordings (searched recursively)")
    p.add_argument("--names", nargs="+", help="a short name per folder (default: the folder's name)")
    p.add_argument("--split", choices=("train", "heldout", "all"), default="train",
                   help="files i %% 3 != 2 (train), i %% 3 == 2 (heldout) of the sorted list, or all")
    p.add_argument("--max_files", type=int, default=20, help="files per folder, evenly spaced (0: all)")
    p.add_argument("--figure", type=Path, help="write the before/after figure (PNG) here")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    names = args.names or [f.name for f in args.folders]
    if len(names) != len(args.folders):
        raise ValueError(f"--names: {len(names)} names for {len(args.folders)} folders")
    results = {}
    print(f"{'folder':8s} {'files':>5s} {'sec':>6s} {'voiced':>7s}   within+-3 before -> after   "
          f"coherence before -> after   positive before -> after")
    for name, folder in zip(names, args.folders):
        res = results[name] = measure_folder(subset_files(folder, args.split, args.max_files))
        b, a = res["stats"]["before"], res["stats"]["after"]
        print(f"{name:8s} {res['files']:5d} {res['seconds']:6.1f} {a['n_voiced']:7d}   "
              f"{b['within']:.3f} -> {a['within']:.3f}            "
              f"{b['coherence']:.3f} -> {a['coherence']:.3f}             "
              f"{b['positive']:.3f} -> {a['positive']:.3f}")
    if args.figure:
        note = f"; {args.split} files" + (f", at most {args.max_files} per folder" if args.max_files else "")
        plot_alignment(args.figure, results, note=note)
        print(f"wrote {args.figure}")
    rounded = {n: {"files": r["files"], "seconds": r["seconds"],
                   **{m: {k: round(v, 4) if isinstance(v, float) else v for k, v in r["stats"][m].items()}
                      for m in METHODS}} for n, r in results.items()}
    print(json.dumps({"split": args.split, "max_files": args.max_files, **rounded}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
