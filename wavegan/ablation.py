"""Phase-shuffle ablation: inception score against steps, several seeds per setting, one figure.

    python -m wavegan.ablation --group "n=2" runs/ps2_s0 runs/ps2_s1 runs/ps2_s2 \
        --group "n=0" runs/ps0_s0 runs/ps0_s1 runs/ps0_s2 \
        --figure figures/wavegan/phase_shuffle_ablation.png

Each run folder is a ``python -m wavegan.train`` run that ``python -m wavegan.curve``
has scored (``RUN/inception_curve.json``, or give the .json files themselves). Runs of
a group differ only by ``--seed``; groups get equal compute when they share their
steps. For each group the figure draws every run thinly and the mean over its runs
(± one standard deviation across seeds) at the steps all its runs have. The numbers
go beside the figure as ``.json``; the last line printed is that JSON object:
per group ``steps``, ``mean``, ``std``, ``final`` (each run's last score), ``runs``.
"""
import argparse
import json
from pathlib import Path

import numpy as np

from dsp.audio import InputError, cli_main, write_json
from wavegan.curve import save_figure


def read_curve(path):
    """(steps int [k], inception scores float [k]) of a wavegan.curve JSON or its run folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "inception_curve.json"
    try:
        curve = json.loads(path.read_text())
        steps = np.asarray(curve["steps"], dtype=np.int64)
        scores = np.asarray(curve["inception_score"], dtype=np.float64)
    except FileNotFoundError:
        raise InputError(f"{path}: no inception curve (run python -m wavegan.curve first)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a wavegan.curve JSON ({exc})") from None
    if steps.ndim != 1 or steps.shape != scores.shape or len(steps) == 0:
        raise InputError(f"{path}: steps and inception_score must be lists of one length")
    if not np.all(np.isfinite(scores)):
        raise InputError(f"{path}: inception scores are not finite")
    return steps, scores


def summarise(groups):
    """Mean and spread across the seeds of each group.

    Args:
        groups: dict name -> list of run folders or curve JSON files.
    Returns:
        dict name -> {"steps", "mean", "std", "final", "runs"}: steps every run of the group
        has, the mean and standard deviation across runs at those steps, each run's last score.
    """
    out = {}
    for name, runs in groups.items():
        curves = [read_curve(r) for r in runs]
        common = sorted(set.intersection(*(set(s.tolist()) for s, _ in curves)))
        if not common:
            raise InputError(f"group {name}: its runs share no scored step")
        table = np.array([[dict(zip(s.tolist(), v))[k] for k in common] for s, v in curves])
        out[name] = {"steps": common, "mean": table.mean(axis=0).tolist(),
                     "std": table.std(axis=0).tolist(), "final": [float(v[-1]) for _, v in curves],
                     "runs": [str(r) for r in runs]}
    return out


def draw(summary, groups, path):
    """Runs thin, group means bold with ± one standard deviation across seeds (PNG, atomic)."""
    import matplotlib  # start-up time: only the CLI draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for k, (name, result) in enumerate(summary.items()):
        color = f"C{k}"
        for run in groups[name]:
            steps, scores = read_curve(run)
            ax.plot(steps, scores, color=color, lw=0.7, alpha=0.4)
        mean, std = np.asarray(result["mean"]), np.asarray(result["std"])
        ax.fill_between(result["steps"], mean - std, mean + std, color=color, alpha=0.2)
        ax.plot(result["steps"], mean, "o-", color=color, lw=2,
                label=f"{name} ({len(groups[name])} seeds)")
    ax.set_xlabel("generator step")
    ax.set_ylabel("inception score")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m wavegan.ablation",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", nargs="+", action="append", required=True,
                        metavar=("NAME", "RUN"),
                        help="a setting's name, then its runs (folders or curve JSONs); repeat")
    parser.add_argument("--figure", required=True, help="PNG to draw; .json beside it")
    return parser


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    groups = {}
    for name, *runs in args.group:
        if not runs:
            raise InputError(f"--group {name}: no runs given")
        groups[name] = runs
    summary = summarise(groups)
    figure = Path(args.figure)
    try:
        figure.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{figure.parent}: cannot create the figure's folder ({exc.strerror})") from None
    draw(summary, groups, figure)
    write_json(figure.with_suffix(".json"), summary)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
