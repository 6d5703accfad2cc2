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
plus two extra rows: ``cnn_keras`` (the keras model as built, compiled
like the fast path (``tf.function``, symbolic length) and fed the same
spectrograms: the speed baseline of the CNN, timed in the same run, so that
its ratio to ``cnn`` carries over to an idle machine) and ``pghi_fgla8`` (PGHI
phase refined by 8 fast Griffin-Lim iterations; not "PGHI alone").

Without ``--model`` the CNN is an untrained network of the ``--preset``
configuration (default: the repository's): its speed is meaningful, its
quality is not.

    python -m bench.bench_inversion --model models/cnnvocoder/model.keras
    python -m bench.bench_inversion --wav_dir ../shared/realdata/ljspeech_sample/wavs --max_files 4
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from cnnvocoder.config import DEFAULT_PRESET, preset_config
from cnnvocoder.features import compute_features, spec_to_magnitude
from cnnvocoder.inference import fast_vocoder, load_vocoder
from cnnvocoder.inversion import invert
from cnnvocoder.model import build_model
from corpus.readers import list_wavs
from corpus.synth import make_corpus
from dsp.audio import InputError, atomic_output, cli_main, load_audio, write_json
from dsp.metrics import log_spectral_distance, spectral_convergence
from dsp.spectral import stft

METHODS = {  # name -> (invert method, kwargs)
    "cnn": ("cnn", {}),
    # speed baseline measured in the same run: the keras model as built (BatchNorm
    # layers, resize-then-convolve), compiled like the fast path; same output up to rounding
    "cnn_keras": ("cnn", {"fast": False}),
    "gl32": ("griffinlim", {"n_iter": 32}),
    "gl100": ("griffinlim", {"n_iter": 100}),
    "pghi": ("pghi", {}),
    "pghi_fgla8": ("pghi", {"refine_iter": 8}),  # PGHI as the initial phase of 8 FGLA steps
}


def heldout_wavs(wav_dir, max_files, tmp):
    if wav_dir:
        files = list_wavs(wav_dir)
        if not files:
            raise InputError(f"{wav_dir}: no audio files")
        return [Path(f) for f in files][:max_files]
    return make_corpus(Path(tmp) / "heldout", n_utterances=max_files, sr=22050, seed=1)


def raw_magnitude(x, config):
    return np.abs(stft(x, config["n_fft"], config["hop_length"], config["win_length"]))


def plot(path, spec, outputs, config, title):
    panels = [("input", spec)] + list(outputs.items())
    fig = Figure(figsize=(2.9 * len(panels) + 1.2, 3.6), constrained_layout=True)
    axes = fig.subplots(1, len(panels), sharey=True)
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
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.bench_inversion",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--wav_dir", default=None, help="held-out recordings (default: synthetic)")
    p.add_argument("--model", default=None, help="trained .keras file (default: untrained)")
    p.add_argument("--preset", default=DEFAULT_PRESET,
                   help="configuration of the untrained CNN and the analysis without --model")
    p.add_argument("--max_files", type=int, default=4)
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    p.add_argument("--figure", default="figures/cnnvocoder_inversion.png")
    p.add_argument("--spec_type", choices=("normalized_db", "magnitude"), default="normalized_db",
                   help="invert the normalised (clipped at |X| = 10) spectrogram of the repo "
                        "levels, or the raw STFT magnitude (no ceiling; not the CNN)")
    p.add_argument("--json_out", default=None, help="also write the results (with metadata)")
    p.add_argument("--seed", type=int, default=0,
                   help="untrained CNN weights, Griffin-Lim / PGHI random phase")
    return p.parse_args(argv)


def load_model(args, methods):
    """(keras model or None, config): the trained --model, or an untrained one of --preset."""
    if args.model:
        return load_vocoder(args.model)
    config = preset_config(args.preset)
    keras.utils.set_random_seed(args.seed)
    return (build_model(config) if any(m.startswith("cnn") for m in methods) else None), config


def load_clips(args, config):
    """[(name, wav, spec, mel)] of the held-out recordings."""
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for f in heldout_wavs(args.wav_dir, args.max_files, tmp):
            x, _ = load_audio(f, sr=config["sr"], min_samples=config["hop_length"])
            spec, mel = compute_features(x, config)
            clips.append((Path(f).stem, x, spec, mel))
    return clips


def measure(name, clips, nets, config, args):
    """({spectral_convergence, lsd_db, x_realtime}, first clip's re-analysed output)
    of one method of METHODS over all clips, after a warm-up call."""
    method, kw = METHODS[name]
    model, fast = nets
    key = "mel" if config["input"] == "mel" else "spec"
    feats = (lambda c: c[3] if key == "mel" else c[2]) if method == "cnn" else (lambda c: c[2])
    spec_type = "normalized_db"
    if args.spec_type == "magnitude" and method != "cnn":
        feats, spec_type = (lambda c: raw_magnitude(c[1], config)), "magnitude"
    net = model if kw.get("fast") is False else fast
    # warm-up (graph tracing / numba compilation) on a short excerpt
    invert(feats(clips[0])[:20], method, model=net, config=config, spec_type=spec_type,
           seed=args.seed, **kw)
    sc, lsd, seconds, first = [], [], 0.0, None
    for c in clips:
        t0 = time.perf_counter()
        y = invert(feats(c), method, model=net, config=config, length=len(c[1]),
                   spec_type=spec_type, seed=args.seed, **kw)
        seconds += time.perf_counter() - t0
        re_spec, _ = compute_features(y, config)
        if args.spec_type == "magnitude":
            ref, est = raw_magnitude(c[1], config), raw_magnitude(y, config)
        else:
            ref, est = spec_to_magnitude(c[2], config), spec_to_magnitude(re_spec, config)
        sc.append(spectral_convergence(ref, est))
        lsd.append(log_spectral_distance(ref, est))
        first = re_spec if first is None else first
    total_s = sum(len(c[1]) for c in clips) / config["sr"]
    print(f"  {name}: done ({seconds:.1f} s)", flush=True)
    return {"spectral_convergence": round(float(np.mean(sc)), 4),
            "lsd_db": round(float(np.mean(lsd)), 3),
            "x_realtime": round(total_s / seconds, 2)}, first


def print_table(results):
    print("\n| method | spectral convergence | LSD (dB) | x real time |")
    print("|---|---|---|---|")
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


@cli_main
def main(argv=None):
    args = parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise InputError(f"unknown methods {sorted(unknown)} (choose from {list(METHODS)})")
    model, config = load_model(args, methods)
    fast = fast_vocoder(model) if model is not None else None
    clips = load_clips(args, config)
    total_s = sum(len(c[1]) for c in clips) / config["sr"]
    trained = bool(args.model)
    cnn = f"trained: {args.model}" if trained else "UNTRAINED (speed only)"
    print(f"{len(clips)} clips, {total_s:.1f} s of audio at {config['sr']} Hz, input "
          f"{args.spec_type}; CNN {cnn}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")

    results, first_outputs = {}, {}
    for name in methods:
        results[name], first = measure(name, clips, (model, fast), config, args)
        if name != "cnn_keras":
            first_outputs[name] = first
    print_table(results)
    if args.figure:
        plot(args.figure, clips[0][2], first_outputs, config,
             f"{clips[0][0]}: input and re-analysed outputs"
             + ("" if trained else " (CNN untrained)"))
        print(f"figure: {args.figure}")
    if args.json_out:
        meta = {"spec_type": args.spec_type, "files": [c[0] for c in clips],
                "audio_seconds": total_s, "trained": trained, "model": args.model,
                "seed": args.seed, "load_average": os.getloadavg()[0],
                "cpu_count": os.cpu_count()}
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json_out, {"results": results, "meta": meta})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
