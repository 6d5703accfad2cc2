"""AudioRNN evaluation: learning curves, generated vs real audio, and baselines.

    python audiornn/AudioRNNEval.py -m models/audiornn/audiornn.keras -a output/audiornn/generated.wav

Writes into --figdir (default figures/):
  audiornn_training.png   training/validation loss and accuracy per epoch
                          (from <model>.log.csv), with the baselines' loss
  audiornn_generated.png  waveform and spectrogram of the generated audio
                          next to a real excerpt of the same length
and prints (and saves as <model>.eval.json) validation accuracy and
cross-entropy in bits per sample of the network, a linear-prediction
baseline and a unigram baseline, all on the same validation windows.
"""
import argparse
import csv
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python audiornn/AudioRNNEval.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from audiornn.AudioRNNData import codes_to_audio, load_or_prepare
from dsp.audio import InputError, atomic_output, cli_main, load_audio


def read_log(path):
    """Columns of the CSV training log as float arrays (InputError if absent/empty)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: training log not found (train first)")
    rows = list(csv.DictReader(open(path)))
    if not rows:
        raise InputError(f"{path}: training log is empty")
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def evaluate(model, cache, val_idx, train_idx, max_windows=4096, batch_size=256, lp_order=16):
    """Accuracy and bits/sample of the network and the baselines on the same windows."""
    from tqdm import tqdm

    from audiornn.baseline import LinearPredictionBaseline, score, unigram
    from audiornn.windows import EvalWindows

    val = EvalWindows(cache.codes, val_idx, batch_size, max_windows=max_windows)
    T, mu = val_idx.timesteps, int(cache.meta["mu"])
    probs, ys = [], []
    for i in tqdm(range(len(val)), desc="scoring validation windows", mininterval=1.0):
        X, y = val[i]
        probs.append(model.predict_on_batch(X))
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


def plot_training(log, results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = log["epoch"] + 1
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    ax_l.plot(epochs, log["loss"] / np.log(2), "o-", label="training")
    if "val_loss" in log:
        ax_l.plot(epochs, log["val_loss"] / np.log(2), "s-", label="validation")
    for (name, r), style in zip([(k, v) for k, v in results.items() if k not in ("model", "windows")],
                                ("--", ":")):
        ax_l.axhline(r["bits_per_sample"], color="gray", ls=style, label=f"{name} (validation)")
    ax_l.set(xlabel="epoch", ylabel="cross-entropy (bits / sample)", title="AudioRNN loss")
    ax_a.plot(epochs, log["accuracy"], "o-", label="training")
    if "val_accuracy" in log:
        ax_a.plot(epochs, log["val_accuracy"], "s-", label="validation")
    for (name, r), style in zip([(k, v) for k, v in results.items() if k not in ("model", "windows")],
                                ("--", ":")):
        ax_a.axhline(r["accuracy"], color="gray", ls=style, label=f"{name} (validation)")
    ax_a.set(xlabel="epoch", ylabel="next-code accuracy", title="AudioRNN accuracy")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax_l, ax_a):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)


def plot_generated(generated, real, sr, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dsp.spectral import amplitude_to_db, stft

    fig, axes = plt.subplots(2, 2, figsize=(12, 6), sharex="col")
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
    _save(fig, path)


def _save(fig, path):
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


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


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-m", "--modelfile", default="models/audiornn/audiornn.keras", help="best checkpoint")
    p.add_argument("-a", "--audiofile", default="output/audiornn/generated.wav",
                   help="generated wav to plot (stream files <stem>_<k>.wav are found too)")
    p.add_argument("-d", "--datadir", default=None, help="data folder (default: the training one)")
    p.add_argument("--figdir", default="figures", help="folder for the PNG figures")
    p.add_argument("--val_windows", type=int, default=4096, help="validation windows scored")
    p.add_argument("--lp_order", type=int, default=16, help="linear-prediction order")
    p.add_argument("--seed", type=int, default=0)
    return p


@cli_main
def main(argv=None):
    from audiornn.AudioRNN import model_paths, read_config
    from audiornn.windows import split_train_val

    args = build_parser().parse_args(argv)
    paths = model_paths(args.modelfile)
    config = read_config(args.modelfile)
    log = read_log(paths["log"])
    audio = Path(args.audiofile)
    if not audio.exists() and audio.with_name(f"{audio.stem}_0{audio.suffix}").exists():
        audio = audio.with_name(f"{audio.stem}_0{audio.suffix}")
    generated, _ = load_audio(audio, sr=config["samplerate"], allow_silence=True)
    if not paths["best"].exists():
        raise InputError(f"{paths['best']}: model file not found")
    cache = load_or_prepare(args.datadir or config["datadir"], config["cache"],
                            sr=config["samplerate"], mu=config["mu"], coef=config["preemphasis"])

    import keras

    model = keras.models.load_model(paths["best"])
    train_idx, val_idx = split_train_val(cache.starts, cache.lengths, model.input_shape[1],
                                         config["val_fraction"])
    results = evaluate(model, cache, val_idx, train_idx, args.val_windows, lp_order=args.lp_order)
    figdir = Path(args.figdir)
    plot_training(log, results, figdir / "audiornn_training.png")
    real = real_excerpt(cache, val_idx, len(generated), np.random.default_rng(args.seed))
    plot_generated(generated, real, config["samplerate"], figdir / "audiornn_generated.png")
    out = Path(f"{paths['config'].with_suffix('')}.eval.json")
    with atomic_output(out) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=2))
    print(f"validation ({results['windows']} windows)   accuracy   bits/sample")
    for name, r in results.items():
        if name != "windows":
            print(f"  {name:<26s} {r['accuracy']:8.3f}   {r['bits_per_sample']:8.3f}")
    print(f"figures: {figdir / 'audiornn_training.png'}, {figdir / 'audiornn_generated.png'}; "
          f"metrics: {out}")


if __name__ == "__main__":
    main()
