"""Spectrogram inversion compared: CNN vocoder, Griffin-Lim 32/100, PGHI.

For held-out speech (``--wav_dir``; default: 4 utterances of the embedded
synthetic corpus made with a seed never used in training) the normalised
linear spectrogram of the repo configuration (22.05 kHz, n_fft 2048, window
1024, hop 256) is inverted by each method; the output is re-analysed and
compared with the input spectrogram (spectral convergence, log-spectral
distance in dB, on the floored magnitudes), and the speed is measured in
times real time (audio seconds / wall seconds, after one warm-up call, on
this machine's cores).  Prints a table, writes a figure (input and output
spectrograms side by side) and ends with one JSON line:
``{"cnn": {"spectral_convergence": .., "lsd_db": .., "x_realtime": ..}, "gl32": .., "gl100": .., "pghi": ..}``
plus two extra rows: ``cnn_keras`` (the keras model as built, called
eagerly: the speed baseline of the CNN, timed in the same run, so that its
ratio to ``cnn`` carries over to an idle machine) and ``pghi_fgla8`` (PGHI
phase refined by 8 fast Griffin-Lim iterations; not "PGHI alone").

Without ``--model_path`` the CNN is an untrained network of the repo
configuration: its speed is meaningful, its quality is not.

    python bench/bench_inversion.py --model_path models/cnnvocoder/model.keras
    python bench/bench_inversion.py --wav_dir ../shared/realdata/ljspeech_sample/wavs --max_files 4
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402

from cnnvocoder.config import make_config  # noqa: E402
from cnnvocoder.features import compute_features, spec_to_magnitude  # noqa: E402
from cnnvocoder.inversion import fast_vocoder, invert, load_vocoder  # noqa: E402
from dsp.audio import InputError, cli_main, load_audio  # noqa: E402
from dsp.metrics import log_spectral_distance, spectral_convergence  # noqa: E402
from dsp.spectral import stft  # noqa: E402

METHODS = {  # name -> (invert method, kwargs)
    "cnn": ("cnn", {}),
    # speed baseline measured in the same run: the keras model called as built
    # (BatchNorm layers, resize-then-convolve); same output up to rounding
    "cnn_keras": ("cnn", {"fast": False}),
    "gl32": ("griffinlim", {"n_iter": 32}),
    "gl100": ("griffinlim", {"n_iter": 100}),
    "pghi": ("pghi", {}),
    "pghi_fgla8": ("pghi", {"refine_iter": 8}),  # PGHI as the initial phase of 8 FGLA steps
}


def heldout_wavs(wav_dir, max_files, tmp):
    if wav_dir:
        from corpus.readers import list_wavs

        files = list_wavs(wav_dir)
        if not files:
            raise InputError(f"{wav_dir}: no audio files")
        return [Path(f) for f in files][:max_files]
    from corpus.synth import make_corpus

    return make_corpus(Path(tmp) / "heldout", n_utterances=max_files, sr=22050, seed=1)


def raw_magnitude(x, config):
    return np.abs(stft(x, config["n_fft"], config["hop_length"], config["win_length"]))


def plot(path, spec, outputs, config, title):
    import matplotlib.pyplot as plt

    panels = [("input", spec)] + list(outputs.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(2.9 * len(panels) + 1.2, 3.6), sharey=True,
                             constrained_layout=True)
    hop_s = config["hop_length"] / config["sr"]
    extent = [0, spec.shape[0] * hop_s, 0, config["sr"] / 2000]
    for ax, (name, s) in zip(axes, panels):
        im = ax.imshow(s.T, origin="lower", aspect="auto", extent=extent, vmin=0, vmax=1,
                       cmap="magma")
        ax.set_title(name)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.colorbar(im, ax=axes, shrink=0.8, label="normalised dB")
    fig.suptitle(title, fontsize=9)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--wav_dir", default=None, help="held-out recordings (default: synthetic)")
    p.add_argument("--model_path", default=None, help="trained .keras (default: untrained)")
    p.add_argument("--max_files", type=int, default=4)
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    p.add_argument("--figure", default="figures/cnnvocoder_inversion.png")
    p.add_argument("--input", choices=("clipped", "magnitude"), default="clipped",
                   help="invert the normalised (clipped at |X| = 10) spectrogram of the repo "
                        "levels, or the raw STFT magnitude (no ceiling)")
    p.add_argument("--json_out", default=None, help="also write the results (with metadata)")
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise InputError(f"unknown methods {sorted(unknown)} (choose from {list(METHODS)})")
    import keras

    trained = bool(args.model_path)
    if trained:
        model, config = load_vocoder(args.model_path)
    else:
        from cnnvocoder.model import build_model

        config = make_config()
        keras.utils.set_random_seed(0)
        model = build_model(config) if any(m.startswith("cnn") for m in methods) else None
    fast = fast_vocoder(model) if model is not None else None
    key = "mel" if config["input"] == "mel" else "spec"

    with tempfile.TemporaryDirectory() as tmp:
        files = heldout_wavs(args.wav_dir, args.max_files, tmp)
        clips = []
        for f in files:
            x, _ = load_audio(f, sr=config["sr"], min_samples=config["hop_length"])
            spec, mel = compute_features(x, config)
            clips.append((Path(f).stem, x, spec, mel))
    total_s = sum(len(c[1]) for c in clips) / config["sr"]
    print(f"{len(clips)} clips, {total_s:.1f} s of audio at {config['sr']} Hz, input {args.input}; "
          f"CNN {'trained: ' + args.model_path if trained else 'UNTRAINED (speed only)'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    results, first_outputs = {}, {}
    for name in methods:
        method, kw = METHODS[name]
        feats = (lambda c: c[3] if key == "mel" else c[2]) if method == "cnn" else (lambda c: c[2])
        # warm-up (graph tracing / numba compilation) on a short excerpt
        spec_type = "normalized_db"
        if args.input == "magnitude" and method != "cnn":
            feats, spec_type = (lambda c: raw_magnitude(c[1], config)), "magnitude"
        net = model if kw.get("fast") is False else fast
        invert(feats(clips[0])[:20], method, model=net, config=config, spec_type=spec_type, **kw)
        sc, lsd, seconds = [], [], 0.0
        for i, c in enumerate(clips):
            inp = feats(c)
            t0 = time.perf_counter()
            y = invert(inp, method, model=net, config=config, length=len(c[1]),
                       spec_type=spec_type, **kw)
            seconds += time.perf_counter() - t0
            re_spec, _ = compute_features(y, config)
            if args.input == "magnitude":
                ref, est = raw_magnitude(c[1], config), raw_magnitude(y, config)
            else:
                ref, est = spec_to_magnitude(c[2], config), spec_to_magnitude(re_spec, config)
            sc.append(spectral_convergence(ref, est))
            lsd.append(log_spectral_distance(ref, est))
            if i == 0 and name != "cnn_keras":
                first_outputs[name] = re_spec
        results[name] = {"spectral_convergence": round(float(np.mean(sc)), 4),
                         "lsd_db": round(float(np.mean(lsd)), 3),
                         "x_realtime": round(total_s / seconds, 2)}
        print(f"  {name}: done ({seconds:.1f} s)", flush=True)

    print(f"\n| method | spectral convergence | LSD (dB) | x real time |")
    print(f"|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['spectral_convergence']:.4f} | {r['lsd_db']:.2f} | "
              f"{r['x_realtime']:.1f} |")
    if "cnn" in results and "cnn_keras" in results:
        c, k = results["cnn"], results["cnn_keras"]
        print(f"CNN: FastVocoder {c['x_realtime']:.1f}x vs the keras model as built "
              f"{k['x_realtime']:.1f}x real time in this run (speed-up "
              f"{c['x_realtime'] / k['x_realtime']:.2f})")
    if "pghi" in results and "gl32" in results:
        p, g = results["pghi"], results["gl32"]
        print(f"PGHI vs GL-32: SC {p['spectral_convergence']:.4f} vs {g['spectral_convergence']:.4f}"
              f", time ratio {g['x_realtime'] / p['x_realtime']:.2f} (PGHI / GL-32 wall time)")
    if args.figure:
        plot(args.figure, clips[0][2], first_outputs, config,
             f"{clips[0][0]}: input and re-analysed outputs"
             + ("" if trained else " (CNN untrained)"))
        print(f"figure: {args.figure}")
    if args.json_out:
        meta = {"input": args.input, "files": [c[0] for c in clips], "audio_seconds": total_s, "trained": trained,
                "model_path": args.model_path, "load_average": os.getloadavg()[0],
                "cpu_count": os.cpu_count()}
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"results": results, "meta": meta}, indent=2))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
