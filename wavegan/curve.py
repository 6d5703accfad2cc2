"""The inception score against training steps: does the generator learn?

    python -m wavegan.curve --run_dir models/wavegan/specgan --real_dir data/wavegan/fsdd \
        [--classifier pretrained/digit_classifier] [--n 200] [--seed 0] [--inversion pghi] \
        [--figure figures/wavegan/specgan_inception_curve.png]

Scores every generator kept by ``python -m wavegan.train --keep_every K``
(``RUN/snapshots/step_XXXXXX/``), the run's last generator (``RUN/generator.keras``)
when its step has no snapshot, and step 0: an UNTRAINED generator of the run's
configuration, built with the run's seed (the trainer keeps no snapshot before the
first step; this is the baseline a curve must rise above). Every point uses the
same latents (``--seed``) and the same classifier, so the points differ only by
the weights. The real held-out clips' score (the test speaker of ``--real_dir``)
is drawn as the ceiling.

Writes the figure and, beside it, the same numbers as ``.json``; the last line
printed is one JSON object: ``steps``, ``inception_score``,
``inception_score_std``, ``label_entropy`` (lists, one entry per point),
``real_inception_score``, ``untrained_inception_score``, ``final_inception_score``.

``--n`` is small by default (200 clips, 10 splits of 20) to keep the curve cheap:
fine for comparing the points of one run with each other, not for comparing with
the papers' scores (``python -m wavegan.evaluate`` with more clips does that).
"""
import argparse
import json
import re
import sys
from pathlib import Path

import keras
import numpy as np

from dsp.audio import InputError, atomic_output, cli_main, write_json
from dsp.presets import load_config
from wavegan import generate, metrics
from wavegan.classifier import load_classifier, predict_proba
from wavegan.data import load_split
from wavegan.evaluate import (DEFAULT_CLASSIFIER, add_scoring_args, check_scoring_args,
                              is_generator_dir)
from wavegan.models import build_pair, sample_latent
from wavegan.train_log import read_state

_SNAPSHOT = re.compile(r"^step_(\d+)$")


def generator_points(run_dir):
    """(step, generator folder) of a run's snapshots and its last generator, sorted by step.

    Raises:
        InputError: the run folder holds no configuration.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise InputError(f"{run_dir}: no config.json (not a python -m wavegan.train run)")
    points = {}
    for snap in sorted((run_dir / "snapshots").glob("step_*")):
        match = _SNAPSHOT.match(snap.name)
        if match and is_generator_dir(snap):
            points[int(match.group(1))] = snap
    if is_generator_dir(run_dir):
        step = int(read_state(run_dir / "state.json").get("step", 0))
        # the last checkpoint is a point of its own only when no snapshot has its step
        if step > 0 and step not in points:
            points[step] = run_dir
    return sorted(points.items())


def untrained_generator(config):
    """A freshly initialised generator of `config` (seeded with the run's seed)."""
    keras.utils.set_random_seed(int(config.get("seed", 0)))
    generator, _ = build_pair(config)
    return generator


def score(classifier, model, config, z, seed, inversion, splits):
    """(inception score, its std, label entropy) of a generator on latents `z`."""
    audio = generate.outputs_to_audio(generate.generate_outputs(model, z), config, inversion, seed)
    probs = predict_proba(classifier, audio)
    mean, std = metrics.inception_score(probs, splits)
    return mean, std, metrics.label_entropy(probs)


def inception_curve(run_dir, real_dir, classifier_path=DEFAULT_CLASSIFIER, n=200, seed=0,
                    inversion=None, splits=10, log=sys.stderr):
    """The inception score of the untrained generator and of every kept one.

    Args:
        run_dir: a ``python -m wavegan.train`` output folder.
        real_dir: a ``python -m wavegan.data`` folder (its test part is the ceiling).
        classifier_path: folder or file of the digit classifier.
        n: int, clips per point.
        seed: int, the latent seed (the same latents at every point).
        inversion: None (each configuration's) or "griffinlim" / "pghi".
        splits: int, inception-score splits.
        log: a text stream for one progress line per point, or None.
    Returns:
        dict (see the module docstring).
    """
    config = load_config(Path(run_dir) / "config.json")
    points = generator_points(run_dir)
    classifier = load_classifier(classifier_path)
    real_audio, _ = load_split(real_dir, "test")
    # real clips come sorted by digit: a fixed shuffle, as wavegan.evaluate does
    real_score, _ = metrics.inception_score(predict_proba(classifier, real_audio), splits,
                                            shuffle_seed=0)
    z = sample_latent(np.random.default_rng(seed), int(n), int(config.get("latent_dim", 100)))
    rows = [(0, untrained_generator(config), config)]
    rows += [(step, *generate.load_generator(folder)) for step, folder in points]
    result = {"run_dir": str(run_dir), "model": config["model"], "n": int(n), "steps": [],
              "inception_score": [], "inception_score_std": [], "label_entropy": [],
              "real_inception_score": real_score}
    for step, model, cfg in rows:
        mean, std, entropy = score(classifier, model, cfg, z, seed, inversion, splits)
        for key, value in zip(("steps", "inception_score", "inception_score_std",
                               "label_entropy"), (step, mean, std, entropy)):
            result[key].append(value)
        if log:
            print(f"step {step}: inception score {mean:.3f} +- {std:.3f}, label entropy "
                  f"{entropy:.3f}", file=log, flush=True)
    result["untrained_inception_score"] = result["inception_score"][0]
    result["final_inception_score"] = result["inception_score"][-1]
    return result


def draw(result, path):
    """The curve with its spread, the untrained level and the real ceiling, as a PNG (atomically)."""
    import matplotlib  # start-up time: only the CLI draws

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(result["steps"])
    mean = np.asarray(result["inception_score"])
    std = np.asarray(result["inception_score_std"])
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.fill_between(steps, mean - std, mean + std, alpha=0.25)
    ax.plot(steps, mean, "o-", label=f"{result['model']} ({result['n']} clips a point)")
    ax.axhline(result["real_inception_score"], color="k", ls="--",
               label=f"real held-out clips ({result['real_inception_score']:.2f})")
    ax.axhline(result["untrained_inception_score"], color="gray", ls=":",
               label=f"untrained generator ({result['untrained_inception_score']:.2f})")
    ax.set_xlabel("generator step")
    ax.set_ylabel("inception score")
    ax.set_ylim(0.9, max(10.0 if result["real_inception_score"] > 5 else 0,
                         result["real_inception_score"], mean.max() + std.max()) * 1.05)
    ax.legend(fontsize=8, loc="center right")
    ax.grid(alpha=0.3)
    save_figure(fig, path)


def save_figure(fig, path):
    """Lay out, write `fig` to `path` as PNG (temporary name, then rename) and close it."""
    import matplotlib.pyplot as plt  # lazily, as in the drawing functions

    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def build_parser():
    p = argparse.ArgumentParser(prog="python -m wavegan.curve",
                                description="Inception score of an untrained generator and of "
                                            "every kept snapshot of a training run.")
    p.add_argument("--run_dir", required=True, help="python -m wavegan.train output folder")
    p.add_argument("--real_dir", required=True, help="python -m wavegan.data output folder")
    add_scoring_args(p, n=200)   # --n: clips per point
    p.add_argument("--figure", default=None,
                   help="PNG to draw (default RUN_DIR/inception_curve.png); .json beside it")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    check_scoring_args(args)
    result = inception_curve(args.run_dir, args.real_dir, args.classifier, args.n, args.seed,
                             args.inversion, args.splits)
    figure = Path(args.figure or Path(args.run_dir) / "inception_curve.png")
    figure.parent.mkdir(parents=True, exist_ok=True)
    draw(result, figure)
    write_json(figure.with_suffix(".json"), result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
