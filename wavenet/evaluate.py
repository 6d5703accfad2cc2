"""Copy-synthesis scores of a vocoder against Griffin-Lim from the same mel, on held-out recordings.

Usage:
    python -m wavenet.evaluate --model_dir pretrained/wavenet --input_dir DIR --out_dir figures/wavenet_eval
    python -m wavenet.evaluate --model_dir M --input LJ001-0010.wav LJ001-0019.wav --out_dir OUT

Every recording is vocoded by each ``--methods`` entry (``wavenet``: fast generation;
``griffinlim``: ``--n_iter`` iterations of fast Griffin-Lim from the same mel), written to
``OUT/<method>/<stem>.wav``, and scored against the original at the vocoder's rate:
STOI and wide-band PESQ (intrusive), DNSMOS P.808 and SIG (non-intrusive; the original's
own score is the ceiling, row ``original``) and ViSQOL v3 speech mode (intrusive).
Written to ``OUT``: ``results.json`` (per file and means), ``results.md`` (the table),
``spectrograms.png`` (original and each method side by side, first recording).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from dsp import metrics
from dsp.audio import atomic_output, cli_main, load_audio, write_json
from wavenet.vocode import (add_source_args, add_synthesis_args, check_model, check_synthesis_args, input_paths,
                            model_checkpoint, read_inputs, vocode_items)

METHODS = ("wavenet", "griffinlim")
COLUMNS = (("stoi", "STOI"), ("pesq_wb", "PESQ-WB"), ("p808", "DNSMOS P.808"), ("sig", "DNSMOS SIG"),
           ("visqol", "ViSQOL"))


def score(reference, degraded, sr):
    """All metrics of one vocoded recording against its original (both at ``sr``)."""
    n = min(len(reference), len(degraded))
    ref, deg = reference[:n], degraded[:n]
    mos = metrics.dnsmos(deg, sr)
    return {"stoi": metrics.stoi(ref, deg, sr), "pesq_wb": metrics.pesq_wb(ref, deg, sr),
            "p808": mos["p808"], "sig": mos["sig"], "visqol": metrics.visqol(ref, deg, sr)}


def summarise(rows):
    """``{method: {metric: mean}}`` over files."""
    out = {}
    for method in {r["method"] for r in rows}:
        sel = [r for r in rows if r["method"] == method]
        out[method] = {k: float(np.mean([r[k] for r in sel if r.get(k) is not None]))
                       for k, _ in COLUMNS if any(r.get(k) is not None for r in sel)}
        out[method]["files"] = len(sel)
    return out


def markdown_table(means, order):
    """The results table (means over files; ``-`` where a metric does not apply)."""
    lines = ["| method | files | " + " | ".join(name for _, name in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for method in order:
        m = means[method]
        cells = [f"{m[k]:.3f}" if k in m else "-" for k, _ in COLUMNS]
        lines.append(f"| {method} | {m['files']} | " + " | ".join(cells) + " |")
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
    add_synthesis_args(p)
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    check_synthesis_args(args)
    paths = input_paths(args)
    ckpt = model_checkpoint(args)
    # Keras loads here, not at the top: --help and flag errors answer at once instead of after ~5 s.
    from wavenet.model import load_vocoder

    model, cfg = load_vocoder(ckpt)
    check_model(model, cfg, ckpt)
    items = read_inputs(paths, cfg, args.skip_bad)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for method in args.methods:
        (out_dir / method).mkdir(exist_ok=True)
        outputs[method] = vocode_items(model, cfg, items, out_dir / method, method, args)
    rows = []
    for i, (path, mel) in enumerate(tqdm(items, desc="scoring", unit="file")):
        ref, _ = load_audio(path, sr=cfg.sample_rate)
        ref = ref[:len(mel) * cfg.hop]
        mos = metrics.dnsmos(ref, cfg.sample_rate)
        rows.append({"file": path.name, "method": "original", "p808": mos["p808"], "sig": mos["sig"]})
        for method in args.methods:
            rows.append({"file": path.name, "method": method, **score(ref, outputs[method][i], cfg.sample_rate)})
        if i == 0:
            plot_spectrograms([("original", ref)] + [(m, outputs[m][i]) for m in args.methods], cfg.sample_rate,
                              out_dir / "spectrograms.png", f"{path.name}: copy synthesis at {cfg.sample_rate} Hz")
    means = summarise(rows)
    table = markdown_table(means, ["original"] + list(args.methods))
    write_json(out_dir / "results.json", {"model": str(ckpt), "sample_rate": cfg.sample_rate,
                                          "griffinlim_iterations": args.n_iter, "temperature": args.temperature,
                                          "prob_floor": args.prob_floor, "seed": args.seed, "means": means,
                                          "files": rows})
    with atomic_output(out_dir / "results.md") as tmp:
        Path(tmp).write_text(table)
    print(table, end="")
    print(f"wrote {out_dir / 'results.json'}, {out_dir / 'results.md'}, {out_dir / 'spectrograms.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
