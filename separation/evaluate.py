"""Score separated speech against clean references (the paper's Table I).

    python -m separation.evaluate --reference_dir data/separation/test/clean \
        --mixture_dir data/separation/test/mix \
        --estimate_dir output/separation/proposed output/separation/b2 \
        [--labels Proposed B2] [--out_dir figures/separation]

Files are matched by name; any sample rate (estimates are resampled to the
reference's rate). Metrics (dsp.metrics): PESQ (ITU-T P.862 narrow-band at
16 kHz via `pesq`, reference first), STOI (`pystoi`), SI-SDR, and the paper's
SDR (256-tap Wiener projection of the reference onto the estimate), and DNSMOS P.808
(non-intrusive, `dsp.metrics.dnsmos`; NaN for a silent estimate). Prints the
table, writes <out_dir>/separation_table.csv, separation_scores.csv (per file),
separation_metrics.png (bar chart) and separation_spectrograms_<id>.png for a few
utterances. The last printed line is one JSON object
{"<label>": {"pesq": ..., "stoi": ..., "si_sdr": ..., "sdr": ..., "p808": ...}}.
"""
import argparse
import csv
import json
import sys
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from dsp import metrics
from dsp.audio import (AudioTooShortError, InputError, atomic_output, check_output, cli_main, load_audio,
                       notice)
from dsp.spectral import amplitude_to_db, stft

METRICS = ("pesq", "stoi", "si_sdr", "sdr", "p808")
MIN_SECONDS = 0.25  # PESQ's shortest signal: shorter files cannot be scored


def load_scored(path, sr=None, allow_silence=False):
    """`load_audio` for scoring: AudioTooShortError naming the file when under MIN_SECONDS."""
    x, rate = load_audio(path, sr=sr, allow_silence=allow_silence)
    if len(x) < MIN_SECONDS * rate:
        raise AudioTooShortError(f"{path}: too short to score ({len(x)} samples at {rate} Hz, "
                                 f"need at least {MIN_SECONDS} s)")
    return x, rate


def score_pair(ref, est, sr):
    """All metrics for one (reference, estimate) pair at rate `sr` (DNSMOS P.808 needs no reference: the
    paper's claim is that synthesis sounds clean)."""
    n = min(len(ref), len(est))
    ref, est = ref[:n].astype(np.float64), est[:n].astype(np.float64)
    out = {}
    try:
        out["pesq"] = metrics.pesq_nb(ref, est, sr)
    except Exception as exc:  # pesq refuses e.g. silent estimates
        notice(f"PESQ failed ({type(exc).__name__}: {exc}); scored NaN (not repeated)", key="pesq")
        out["pesq"] = float("nan")
    out["stoi"] = metrics.stoi(ref, est, sr)
    out["si_sdr"] = metrics.si_sdr(ref, est)
    out["sdr"] = metrics.sdr(ref, est, taps=256)
    out["p808"] = metrics.dnsmos(est, sr)["p808"] if np.any(est) else float("nan")   # silence has no MOS
    return out


def evaluate_dirs(reference_dir, estimate_dirs, labels=None, mixture_dir=None, progress=True):
    """Score every estimate folder (and the mixtures as "Input").

    Returns:
        (summary {label: {metric: mean}}, rows [{label, id, metric...}], matched ids).
    """
    reference_dir = Path(reference_dir)
    refs = {p.stem: p for p in sorted(reference_dir.glob("*.wav"))}
    if not refs:
        raise InputError(f"{reference_dir}: no reference .wav files")
    estimate_dirs = [Path(d) for d in estimate_dirs]
    labels = list(labels) if labels else [d.name for d in estimate_dirs]
    if len(labels) != len(estimate_dirs):
        raise InputError(f"{len(labels)} labels for {len(estimate_dirs)} estimate folders")
    sources = ([("Input", Path(mixture_dir))] if mixture_dir else []) + list(zip(labels, estimate_dirs))
    summary, rows = {}, []
    ref_cache = {}
    for label, folder in sources:
        if not folder.is_dir():
            raise InputError(f"{folder}: estimate folder not found")
        ids = sorted(set(refs) & {p.stem for p in folder.glob("*.wav")})
        if not ids:
            raise InputError(f"{folder}: no .wav file matches a reference in {reference_dir} by name")
        scores = []
        for i in tqdm(ids, desc=f"scoring {label}", unit="utt", disable=not progress, file=sys.stderr):
            if i not in ref_cache:
                ref_cache[i] = load_scored(refs[i])
            ref, sr = ref_cache[i]
            est, _ = load_scored(folder / f"{i}.wav", sr=sr, allow_silence=True)
            s = score_pair(ref, est, sr)
            rows.append({"label": label, "id": i, **s})
            scores.append(s)
        summary[label] = {m: float(np.nanmean([s[m] for s in scores])) for m in METRICS}
        summary[label]["n"] = len(scores)
    return summary, rows, sorted(ref_cache)


def format_table(summary):
    lines = [f"{'method':<14}{'n':>4}{'PESQ':>8}{'STOI':>8}{'SI-SDR':>9}{'SDR':>9}{'P.808':>8}"]
    for label, s in summary.items():
        lines.append(f"{label:<14}{s['n']:>4}{s['pesq']:>8.3f}{s['stoi']:>8.3f}"
                     f"{s['si_sdr']:>9.2f}{s['sdr']:>9.2f}{s['p808']:>8.2f}")
    return "\n".join(lines)


def write_csvs(summary, rows, out_dir):
    out_dir = Path(out_dir)
    with atomic_output(out_dir / "separation_table.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["method", "n", *METRICS])
        for label, s in summary.items():
            w.writerow([label, s["n"], *(f"{s[m]:.4f}" for m in METRICS)])
    with atomic_output(out_dir / "separation_scores.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["label", "id", *METRICS])
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})


def plot_bars(summary, path):
    """Bar chart of the metrics, one bar per method (a matplotlib Figure: no pyplot state)."""
    labels = list(summary)
    names = {"pesq": "PESQ (NB)", "stoi": "STOI", "si_sdr": "SI-SDR (dB)", "sdr": "SDR (dB)", "p808": "DNSMOS P.808"}
    fig = Figure(figsize=(20, 4))
    axes = fig.subplots(1, len(METRICS))
    colors = matplotlib.colormaps["tab10"](np.arange(len(labels)) % 10)
    for ax, m in zip(axes, METRICS):
        vals = [summary[k][m] for k in labels]
        ax.bar(range(len(labels)), vals, color=colors)
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        ax.set_title(names[m])
        ax.axhline(0, color="k", lw=0.5)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Separation results (mean over the test mixtures)")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def plot_spectrograms(utt_id, panels, sr, path):
    """One row per signal: log-magnitude spectrogram (dB) of mixture, clean, estimates."""
    fig = Figure(figsize=(10, 1.8 * len(panels)))
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True))
    hop = 256 if sr > 16000 else 128
    for ax, (name, x) in zip(axes, panels):
        S = amplitude_to_db(np.abs(stft(x, 4 * hop, hop)))
        ax.imshow(S.T, origin="lower", aspect="auto", vmin=S.max() - 80, vmax=S.max(), cmap="magma",
                  extent=[0, len(x) / sr, 0, sr / 2000])
        ax.set_ylabel("kHz")
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(utt_id, fontsize=10)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--reference_dir", required=True)
    p.add_argument("--estimate_dir", nargs="+", required=True)
    p.add_argument("--labels", nargs="+", default=None, help="row names (default: folder names)")
    p.add_argument("--mixture_dir", default=None, help="score the mixtures too (row 'Input')")
    p.add_argument("--out_dir", default="figures/separation")
    p.add_argument("--n_spectrograms", type=int, default=3)
    return p


@cli_main
def main(argv=None):
    a = build_parser().parse_args(argv)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_output(out / "separation_table.csv")  # an unwritable folder stops the run before scoring
    summary, rows, ids = evaluate_dirs(a.reference_dir, a.estimate_dir, a.labels, a.mixture_dir)
    write_csvs(summary, rows, out)
    plot_bars(summary, out / "separation_metrics.png")
    labels = a.labels or [Path(d).name for d in a.estimate_dir]
    for i in ids[: a.n_spectrograms]:
        ref, sr = load_audio(Path(a.reference_dir) / f"{i}.wav")
        panels = []
        if a.mixture_dir:
            panels.append(("mixture", load_audio(Path(a.mixture_dir) / f"{i}.wav", sr=sr)[0]))
        panels.append(("clean", ref))
        for lab, d in zip(labels, a.estimate_dir):
            f = Path(d) / f"{i}.wav"
            if f.is_file():
                panels.append((lab, load_audio(f, sr=sr, allow_silence=True)[0]))
        plot_spectrograms(i, panels, sr, out / f"separation_spectrograms_{i}.png")
    print(format_table(summary))
    print(f"table: {out / 'separation_table.csv'}, figure: {out / 'separation_metrics.png'}")
    print(json.dumps({k: {m: round(v[m], 4) for m in METRICS} for k, v in summary.items()}))


if __name__ == "__main__":
    main()
