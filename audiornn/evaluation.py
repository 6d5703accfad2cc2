"""AudioRNN evaluation: scores against the baselines, learning curves, generated vs real.

`report(...)` is what `python -m audiornn.AudioRNNEval` runs once its inputs
are checked: it scores the network, a linear-prediction and a unigram baseline
on the same validation windows, writes <model>.eval.json and draws the two
figures (see AudioRNNEval.py).  Plots use matplotlib's object-oriented API
(`Figure`, no pyplot), so no global backend is set or needed.
"""
import argparse
import csv
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from tqdm import tqdm

from audiornn.AudioRNNData import codes_to_audio
from audiornn.baseline import LinearPredictionBaseline, score, unigram
from audiornn.checkpoint import data_cache, model_paths
from audiornn.model import last_step, model_targets
from audiornn.training import load_data
from audiornn.windows import EvalWindows
from dsp.audio import InputError, atomic_output, write_json
from dsp.backend import load_keras_model
from dsp.metrics import (full_scale_fraction, level_db, long_term_spectrum,
                         long_term_spectrum_distance)
from dsp.spectral import amplitude_to_db, stft


def read_log(path):
    """Columns of the CSV training log as float arrays (InputError if absent/empty)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: training log not found (train first)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise InputError(f"{path}: training log is empty")
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def evaluate(model, cache, val_idx, train_idx, max_windows=4096, batch_size=256, lp_order=16):
    """Accuracy and bits/sample of the network and the baselines on the same windows."""
    val = EvalWindows(cache.codes, val_idx, batch_size, max_windows=max_windows)
    T, mu = val_idx.timesteps, int(cache.meta["mu"])
    probs, ys = [], []
    for i in tqdm(range(len(val)), desc="scoring validation windows", mininterval=1.0):
        X, y = val[i]
        probs.append(last_step(np.asarray(model.predict_on_batch(X))))
        ys.append(y)
    results = {"windows": int(sum(len(y) for y in ys))}
    results["model"] = dict(zip(("accuracy", "bits_per_sample"),
                                score(np.concatenate(probs), np.concatenate(ys))))
    val_starts = val_idx.starts(val.numbers)
    fit_starts = train_idx.starts(np.unique(np.linspace(0, len(train_idx) - 1,
                                                        min(len(train_idx), 200_000)).astype(np.int64)))
    lp = LinearPredictionBaseline(order=min(lp_order, T), mu=mu).fit(cache.codes, fit_starts, T)
    results[f"linear_prediction_{lp.order}"] = dict(zip(
        ("accuracy", "bits_per_sample"), score(*lp.probabilities(cache.codes, val_starts, T))))
    hist = np.zeros(256)
    for s, e in train_idx.covered():
        hist += np.bincount(cache.codes[s:e], minlength=256)
    p_uni = unigram(np.repeat(np.arange(256), hist.astype(np.int64)))
    y = cache.codes[val_starts + T]
    results["unigram"] = dict(zip(("accuracy", "bits_per_sample"),
                                  score(np.broadcast_to(p_uni, (len(y), 256)), y)))
    return results


def plot_training(log, results, path, held_out_name="validation"):
    """Loss (bits) and accuracy per epoch, with the baselines as horizontal lines.

    Args:
        held_out_name: the set the baselines were scored on (legend text).
    """
    epochs = log["epoch"] + 1
    fig = Figure(figsize=(11, 4))
    ax_l, ax_a = fig.subplots(1, 2)
    ax_l.plot(epochs, log["loss"] / np.log(2), "o-", label="training")
    if "val_loss" in log:
        ax_l.plot(epochs, log["val_loss"] / np.log(2), "s-", label="validation")
    for (name, r), style in zip([(k, v) for k, v in results.items() if k not in ("model", "windows")],
                                ("--", ":")):
        ax_l.axhline(r["bits_per_sample"], color="gray", ls=style, label=f"{name} ({held_out_name})")
    ax_l.set(xlabel="epoch", ylabel="cross-entropy (bits / sample)", title="AudioRNN loss")
    ax_a.plot(epochs, log["accuracy"], "o-", label="training")
    if "val_accuracy" in log:
        ax_a.plot(epochs, log["val_accuracy"], "s-", label="validation")
    for (name, r), style in zip([(k, v) for k, v in results.items() if k not in ("model", "windows")],
                                ("--", ":")):
        ax_a.axhline(r["accuracy"], color="gray", ls=style, label=f"{name} ({held_out_name})")
    ax_a.set(xlabel="epoch", ylabel="next-code accuracy", title="AudioRNN accuracy")
    for ax in (ax_l, ax_a):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def audio_measures(generated, reference, sr):
    """How close generated audio's level and spectrum are to a reference recording's.

    Returns a dict: rms_db and reference_rms_db (dB full scale) and their
    difference level_difference_db, full_scale_fraction (|x| >= 0.999), and
    ltas_difference_db (mean absolute difference of the long-term average
    spectra over 100 Hz - 3.8 kHz, dsp.metrics).
    """
    return {"seconds": len(generated) / sr, "rms_db": level_db(generated),
            "reference_rms_db": level_db(reference),
            "level_difference_db": level_db(generated) - level_db(reference),
            "full_scale_fraction": full_scale_fraction(generated),
            "ltas_difference_db": long_term_spectrum_distance(reference, generated, sr,
                                                              fmax=min(3800.0, 0.475 * sr))}


def held_out_audio(cache, val_idx):
    """The held-out audio (de-emphasised codes), file by file, back to back."""
    mu, coef = int(cache.meta["mu"]), float(cache.meta["preemphasis"])
    return np.concatenate([codes_to_audio(cache.codes[s:e], mu=mu, coef=coef)
                           for s, e in val_idx.covered()])


def plot_generated(generated, real, sr, path, reference=None):
    """Waveform and spectrogram of the generated audio beside a real excerpt, and their LTAS.

    Args:
        generated, real: float [n] signals at `sr` (the excerpt is drawn on the left).
        reference: float [m] or None; the long-term average spectrum of this
            (e.g. all held-out audio) is drawn instead of the excerpt's.
    """
    fig = Figure(figsize=(12, 9))
    grid = fig.add_gridspec(3, 2)
    axes = np.array([[fig.add_subplot(grid[r, c]) for c in range(2)] for r in range(2)])
    ax_ltas = fig.add_subplot(grid[2, :])
    specs = [amplitude_to_db(np.abs(stft(x, n_fft=256, hop_length=64))) for x in (real, generated)]
    top = max(S.max() for S in specs)  # one dB scale for both panels
    for col, (name, x) in enumerate((("real excerpt (corpus)", real),
                                     ("generated", generated))):
        t = np.arange(len(x)) / sr
        axes[0, col].plot(t, x, lw=0.5)
        axes[0, col].set(title=name, ylabel="amplitude", ylim=(-1.05, 1.05))
        axes[1, col].imshow(specs[col].T, origin="lower", aspect="auto", cmap="magma",
                            vmin=top - 80, vmax=top,
                            extent=(0, len(x) / sr, 0, sr / 2))
        axes[1, col].set(xlabel="time (s)", ylabel="frequency (Hz)")
    for name, x in (("real (held-out corpus)" if reference is not None else "real excerpt",
                     real if reference is None else reference), ("generated", generated)):
        freqs, ltas = long_term_spectrum(x, sr)
        ax_ltas.plot(freqs, ltas, label=name)
    ax_ltas.set(xlabel="frequency (Hz)", ylabel="power (dB)", title="long-term average spectrum",
                xlim=(0, sr / 2))
    ax_ltas.grid(alpha=0.3)
    ax_ltas.legend()
    _save(fig, path)


def _save(fig, path):
    """Write a figure as PNG, atomically (a pyplot-free Figure: nothing to close)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")


def real_excerpt(cache, val_idx, n, rng):
    """n samples of real (de-emphasised) audio, from a validation tail when long enough."""
    mu, coef = int(cache.meta["mu"]), float(cache.meta["preemphasis"])
    ranges = [(s, e) for s, e in val_idx.covered() if e - s >= n] or \
             [(int(s), int(s + l)) for s, l in zip(cache.starts, cache.lengths) if l >= n]
    if not ranges:
        i = int(np.argmax(cache.lengths))
        return codes_to_audio(cache.file_codes(i), mu=mu, coef=coef)
    s, e = ranges[int(rng.integers(len(ranges)))]
    return codes_to_audio(cache.codes[s:s + n], mu=mu, coef=coef)


def scored_names(results):
    """Names of the scored predictors in a results dict: the model, then the baselines."""
    return [k for k, v in results.items() if isinstance(v, dict) and "bits_per_sample" in v]


def _data_args(config, args, timesteps):
    """The settings training.load_data needs, from the saved configuration (and -d)."""
    return argparse.Namespace(data_dir=args.data_dir or config["data_dir"],
                              cache=data_cache(config, model_paths(args.model), args.data_dir),
                              samplerate=config["samplerate"], mu=config["mu"],
                              preemphasis=config["preemphasis"], timesteps=timesteps,
                              val_fraction=config["val_fraction"], val_dir=config.get("val_dir"))


def report(args, paths, config, generated, prime=None):
    """Score, plot and save (see module docstring); returns the results dict.

    Args:
        args: from AudioRNNEval.build_parser (data_dir, eval_dir, figures_dir, val_windows,
            lp_order, seed).
        paths: checkpoint.model_paths of the model; config: its saved configuration.
        generated: float [n], the generated audio at the training rate (for a primed
            generation, without the prime).
        prime: float [m] or None, the recording that `generated` continues.
    """
    log = read_log(paths["log"])
    model = load_keras_model(paths["best"], "model")  # first: a bad checkpoint fails before encoding data
    data_args = _data_args(config, args, model.input_shape[1])
    cache, train_idx, val_idx = load_data(data_args, paths, held_out_dir=args.eval_dir,
                                          held_out_cache=paths["eval_cache"] if args.eval_dir else None)
    held_out = args.eval_dir or config.get("val_dir") or "the validation tails"
    val_windows = args.val_windows or config.get("val_windows") or 4096
    results = {"held_out": str(held_out), "targets": list(model_targets(model))}
    results.update(evaluate(model, cache, val_idx, train_idx, val_windows, lp_order=args.lp_order))
    reference = held_out_audio(cache, val_idx)
    results["generated"] = audio_measures(generated, reference, config["samplerate"])
    if prime is not None:
        first = generated[:config["samplerate"]]
        results["primed_first_second"] = audio_measures(first, prime, config["samplerate"])
    figdir = Path(args.figures_dir)
    plot_training(log, {k: v for k, v in results.items() if k in scored_names(results)},
                  figdir / "audiornn_training.png",
                  held_out_name=f"held out: {Path(args.eval_dir).name}" if args.eval_dir else "validation")
    real = real_excerpt(cache, val_idx, len(generated), np.random.default_rng(args.seed))
    plot_generated(generated, real, config["samplerate"], figdir / "audiornn_generated.png",
                   reference=reference)
    write_json(paths["eval"], results)
    print(f"held out: {held_out} ({results['windows']} windows)   accuracy   bits/sample")
    for name in scored_names(results):
        r = results[name]
        print(f"  {name:<26s} {r['accuracy']:8.3f}   {r['bits_per_sample']:8.3f}")
    for name in ("generated", "primed_first_second"):
        if name in results:
            m = results[name]
            print(f"  {name}: {m['seconds']:.1f} s, level {m['rms_db']:.1f} dB "
                  f"({m['level_difference_db']:+.1f} dB from the reference), full scale "
                  f"{100 * m['full_scale_fraction']:.3f} %, LTAS difference {m['ltas_difference_db']:.1f} dB")
    print(f"figures: {figdir / 'audiornn_training.png'}, {figdir / 'audiornn_generated.png'}; "
          f"metrics: {paths['eval']}")
    return results

