"""Copy-synthesis scores of a vocoder against Griffin-Lim from the same mel, on held-out recordings.

Usage:
    python -m wavenet.evaluate --model_dir pretrained/wavenet --input_dir DIR --out_dir figures/wavenet_eval
    python -m wavenet.evaluate --model_dir M --input LJ001-0010.wav LJ001-0019.wav --out_dir OUT

Every recording is vocoded by each ``--methods`` entry (``wavenet``: fast generation;
``wavenet_pf``: the same samples after the mel post-filter; ``noise_pf``: the post-filter alone,
on the mel's magnitude with random phase, the control; ``griffinlim``: ``--n_iter``
iterations of fast Griffin-Lim from the same mel), written to
``OUT/<method>/<stem>.wav``, and scored against the original at the vocoder's rate:
STOI and wide-band PESQ (intrusive), DNSMOS P.808 and SIG (non-intrusive; the original's
own score is the ceiling, row ``original``), ViSQOL v3 speech mode (intrusive), and pitch errors
against the original's pYIN track (``dsp.metrics.f0_errors``: the fraction of frames voiced in
both more than 50 cents off, the gross pitch error (> 20 %), the voicing decision error).
Written to ``OUT``: ``results.json`` (per file and means), ``results.md`` (the table),
``spectrograms.png`` (original and each method side by side, first recording).
``--repeats N`` samples the WaveNet N times (seeds ``--seed`` … ``--seed + N - 1``; the extra runs
in ``OUT/<method>_seed<S>/``): its rows are then the mean over all runs, ± the standard deviation
of the per-run means, which says how much of a difference between two models is sampling luck.
"""
import argparse
import copy
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from dsp import metrics
from dsp.audio import InputError, atomic_output, cli_main, load_audio, write_json
from wavenet.vocode import (METHODS, add_source_args, add_synthesis_args, check_model, check_synthesis_args,
                            input_paths, model_checkpoint, read_inputs, vocode_items)

COLUMNS = (("stoi", "STOI"), ("pesq_wb", "PESQ-WB"), ("p808", "DNSMOS P.808"), ("sig", "DNSMOS SIG"),
           ("visqol", "ViSQOL"), ("f0_off50", "F0 >50 cents"), ("gpe", "GPE"), ("vde", "V/UV error"))


def score(reference, degraded, sr, reference_f0):
    """All metrics of one vocoded recording against its original (both at ``sr``; ``reference_f0``:
    the original's :func:`dsp.metrics.f0_track`)."""
    n = min(len(reference), len(degraded))
    ref, deg = reference[:n], degraded[:n]
    mos = metrics.dnsmos(deg, sr)
    return {"stoi": metrics.stoi(ref, deg, sr), "pesq_wb": metrics.pesq_wb(ref, deg, sr),
            "p808": mos["p808"], "sig": mos["sig"], "visqol": metrics.visqol(ref, deg, sr),
            **metrics.f0_errors(reference_f0, metrics.f0_track(deg, sr))}


def summarise(rows):
    """``{method: {metric: mean}}`` over files (and sampling runs), with ``files`` and ``runs`` counts.

    Rows carrying a ``seed`` (repeated WaveNet runs) also give ``sd_<metric>``: the standard deviation
    over the runs of each run's mean, present when there are at least two runs.
    """
    def defined(sel, k):   # a metric can be undefined for a file (None), e.g. pitch errors of noise
        return [r[k] for r in sel if r.get(k) is not None]

    out = {}
    for method in {r["method"] for r in rows}:
        sel = [r for r in rows if r["method"] == method]
        keys = [k for k, _ in COLUMNS if defined(sel, k)]
        out[method] = {k: float(np.mean(defined(sel, k))) for k in keys}
        seeds = sorted({r.get("seed") for r in sel}, key=str)
        out[method]["files"] = len(sel) // len(seeds)
        out[method]["runs"] = len(seeds)
        for k in keys if len(seeds) > 1 else ():
            run_means = [np.mean(v) for v in (defined([r for r in sel if r.get("seed") == s], k) for s in seeds) if v]
            if len(run_means) > 1:
                out[method][f"sd_{k}"] = float(np.std(run_means, ddof=1))
    return out


def markdown_table(means, order):
    """The results table (means over files; ``± sd`` over sampling runs; ``-`` where a metric does not apply)."""
    lines = ["| method | files | " + " | ".join(name for _, name in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for method in order:
        m = means[method]
        cells = [("-" if k not in m else f"{m[k]:.3f} ± {m[f'sd_{k}']:.3f}" if f"sd_{k}" in m else f"{m[k]:.3f}")
                 for k, _ in COLUMNS]
        label = f"{method} ({m['runs']} runs)" if m.get("runs", 1) > 1 else method
        lines.append(f"| {label} | {m['files']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_spectrograms(signals, sr, png_path, title):
    """Log-magnitude spectrograms side by side (``signals``: ``[(label, wav)]``), written atomically."""
    fig = Figure(figsize=(4.2 * len(signals), 3.6))
    axes = fig.subplots(1, len(signals), sharey=True)
    for ax, (label, x) in zip(np.atleast_1d(axes), signals):
        ax.specgram(x, NFFT=512, Fs=sr, noverlap=384, cmap="magma", vmin=-120, vmax=-20)
        ax.set_title(label)
        ax.set_xlabel("time (s)")
    np.atleast_1d(axes)[0].set_ylabel("frequency (Hz)")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_output(png_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m wavenet.evaluate", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_source_args(p, "recordings to copy-synthesise")
    p.add_argument("--out_dir", required=True, help="folder for the vocoded wavs, results and figure")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    p.add_argument("--repeats", type=int, default=1,
                   help="sample the WaveNet this many times (seeds --seed, --seed + 1, ...) and report the "
                        "mean and its spread over the runs")
    add_synthesis_args(p)
    return p


def vocode_runs(model, cfg, items, out_dir, args):
    """``[(method, seed or None, wavs)]``: every method once, the WaveNet's ``args.repeats`` times.

    The first run of each method writes ``out_dir/<method>/``; the WaveNet's further runs write
    ``out_dir/<method>_seed<S>/``. Griffin-Lim's seed is only its initial phase, so it runs once.
    ``wavenet_pf`` post-filters the ``wavenet`` run of the same seed when both are asked for.
    """
    runs, sampled = [], {}
    for method in sorted(args.methods, key=METHODS.index):
        repeats = args.repeats if method.startswith("wavenet") else 1
        for r in range(repeats):
            run_args = copy.copy(args)
            run_args.seed = args.seed + r
            folder = out_dir / (method if r == 0 else f"{method}_seed{run_args.seed}")
            folder.mkdir(exist_ok=True)
            seed = run_args.seed if repeats > 1 else None
            wavs = vocode_items(model, cfg, items, folder, method, run_args, sampled=sampled.get(run_args.seed))
            if method == "wavenet":
                sampled[run_args.seed] = wavs
            runs.append((method, seed, wavs))
    return runs


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    check_synthesis_args(args)
    if args.repeats < 1:
        raise InputError(f"--repeats must be >= 1, got {args.repeats}")
    paths = input_paths(args)
    ckpt = model_checkpoint(args)
    # Keras loads here, not at the top: --help and flag errors answer at once instead of after ~5 s.
    from wavenet.model import load_vocoder

    model, cfg = load_vocoder(ckpt)
    check_model(model, cfg, ckpt)
    items = read_inputs(paths, cfg, args.skip_bad)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = vocode_runs(model, cfg, items, out_dir, args)
    rows = []
    for i, (path, mel) in enumerate(tqdm(items, desc="scoring", unit="file")):
        ref, _ = load_audio(path, sr=cfg.sample_rate)
        ref = ref[:len(mel) * cfg.hop]
        mos = metrics.dnsmos(ref, cfg.sample_rate)
        ref_f0 = metrics.f0_track(ref, cfg.sample_rate)
        rows.append({"file": path.name, "method": "original", "p808": mos["p808"], "sig": mos["sig"]})
        for method, seed, wavs in runs:
            extra = {} if seed is None else {"seed": seed}
            scores = score(ref, wavs[i], cfg.sample_rate, ref_f0)
            rows.append({"file": path.name, "method": method, **extra, **scores})
        if i == 0:
            first = {}
            for method, _, wavs in runs:
                first.setdefault(method, wavs[i])
            plot_spectrograms([("original", ref)] + [(m, first[m]) for m in args.methods], cfg.sample_rate,
                              out_dir / "spectrograms.png", f"{path.name}: copy synthesis at {cfg.sample_rate} Hz")
    means = summarise(rows)
    table = markdown_table(means, ["original"] + list(args.methods))
    write_json(out_dir / "results.json", {"model": str(ckpt), "sample_rate": cfg.sample_rate,
                                          "griffinlim_iterations": args.n_iter, "temperature": args.temperature,
                                          "prob_floor": args.prob_floor, "postfilter_iters": args.postfilter_iters,
                                          "postfilter_db": args.postfilter_db, "seed": args.seed,
                                          "repeats": args.repeats, "means": means,
                                          "files": rows})
    with atomic_output(out_dir / "results.md") as tmp:
        Path(tmp).write_text(table)
    print(table, end="")
    print(f"wrote {out_dir / 'results.json'}, {out_dir / 'results.md'}, {out_dir / 'spectrograms.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
