"""Spectrogram inversion compared: GL-32, GL-100, PGHI, PGHI + FGLA and the CNN vocoder.

Held-out speech: ``--part val|test`` (the fixed LJSpeech split of
``cnnvocoder.ljspeech_split``; PGHI's settings and pghi_fgla's iteration count
were chosen on its ``train`` part by ``cnnvocoder.tune_phase``), ``--wav_dir``
(any folder), or by default 4 utterances of the embedded synthetic corpus made
with a seed never used in training.  The linear spectrogram of the repo
configuration (22.05 kHz, n_fft 2048, window 1024, hop 256) is inverted by
each method; the output is re-analysed and compared with the spectrogram asked
for (spectral convergence, log-spectral distance in dB) and the speed is
measured in times real time (audio seconds / wall seconds, after one warm-up
call, on this machine's cores).  The methods run interleaved, clip by clip,
so that a change of the machine's load hits them all alike.

Input (``--spec_type``): by default every row inverts the normalised dB
spectrogram (clipped at |X| = 10) that ``cnnvocoder.gen_spec`` writes and a
user of ``invert()`` passes; ``magnitude`` gives GL / PGHI the raw STFT
magnitude instead (no ceiling; the CNN rows keep the normalised input).  Each
row's input is printed in the table and stored in its JSON entry.

Rows: ``gl32``, ``gl100`` (fast Griffin-Lim, random start), ``pghi`` (phase-
gradient heap integration, declipped), ``pghi_fgla`` (PGHI phase then the
tuned number of fast Griffin-Lim iterations), ``cnn`` (FastVocoder) and
``cnn_keras`` (the keras model as built, compiled like the fast path
(``tf.function``, symbolic length) and fed the same spectrograms: the speed
baseline of the CNN).  For the PGHI-refining CNN (``cnnvocoder.refiner``, the
shipped ``pretrained/cnnvocoder``) both CNN rows run its one compiled form, PGHI
start included in the time, so they measure the same thing twice; the
like-for-like comparison there is ``cnn`` against ``pghi``.  Without
``--model_path`` the CNN is an untrained network of the ``--preset``
configuration: its speed is meaningful, its quality is not.  ``--speech_metrics`` adds, per row, STOI and wide-band PESQ
against the recording and DNSMOS P.808 (``dsp.metrics``, offline).  Prints a table,
writes a figure and ends with one JSON line
``{"gl32": {"spectral_convergence": .., "lsd_db": .., "x_realtime": .., "input": ..}, ...}``.

    python -m bench.bench_inversion --part test --model_path pretrained/cnnvocoder/model.keras
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
from cnnvocoder.inversion import PHASE_DEFAULTS, invert
from cnnvocoder.ljspeech_split import PARTS, split_part
from cnnvocoder.model import build_model
from corpus.readers import list_wavs
from corpus.synth import make_corpus
from dsp.audio import InputError, atomic_output, cli_main, load_audio, write_json
from dsp.metrics import dnsmos, log_spectral_distance, pesq_wb, spectral_convergence, stoi
from dsp.spectral import stft

METHODS = {  # name -> (invert method, kwargs)
    "gl32": ("griffinlim", {"n_iter": 32}),
    "gl100": ("griffinlim", {"n_iter": 100}),
    "pghi": ("pghi", {}),
    # PGHI as the initial phase of PHASE_DEFAULTS["fgla_iter"] fast Griffin-Lim iterations
    "pghi_fgla": ("pghi_fgla", {}),
    "cnn": ("cnn", {}),
    # speed baseline measured in the same run: the keras model as built (BatchNorm
    # layers, resize-then-convolve), compiled like the fast path; same output up to rounding
    "cnn_keras": ("cnn", {"fast": False}),
}


def heldout_wavs(args, tmp):
    """Paths of the clips to invert: ``--part`` of the split, ``--wav_dir`` or synthetic."""
    if args.part:
        return [Path(f) for f in split_part(args.part, args.realdata)][:args.max_files]
    if args.wav_dir:
        files = list_wavs(args.wav_dir)
        if not files:
            raise InputError(f"{args.wav_dir}: no audio files")
        return [Path(f) for f in files][:args.max_files]
    return make_corpus(Path(tmp) / "heldout", n_utterances=args.max_files or 4, sr=22050, seed=1)


def raw_magnitude(x, config):
    """[frames, bins] STFT magnitude of waveform ``x`` at the configuration's settings."""
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
    where = p.add_mutually_exclusive_group()
    where.add_argument("--part", choices=PARTS, default=None,
                       help="a part of the fixed LJSpeech split (val, test; train = the "
                            "clips the phase settings were tuned on)")
    where.add_argument("--wav_dir", default=None, help="held-out recordings (default: synthetic)")
    p.add_argument("--realdata", default=None,
                   help="ljspeech_sample folder of --part (default $AUDIOSYNTH_REALDATA/"
                        "ljspeech_sample)")
    p.add_argument("--model_path", "--model", dest="model", default=None,
                   help="trained .keras file (default: untrained)")
    p.add_argument("--preset", default=DEFAULT_PRESET,
                   help="configuration of the untrained CNN and the analysis without --model_path")
    p.add_argument("--max_files", type=int, default=None,
                   help="at most this many clips (default: all; 4 synthetic ones)")
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    p.add_argument("--figure", default="figures/cnnvocoder_inversion.png")
    p.add_argument("--spec_type", choices=("normalized_db", "magnitude"), default="normalized_db",
                   help="GL / PGHI invert the normalised spectrogram a user of invert() passes "
                        "(clipped at |X| = 10 with the repo levels) or the raw STFT magnitude")
    p.add_argument("--json_out", default=None, help="also write the results (with metadata)")
    p.add_argument("--speech_metrics", action="store_true",
                   help="also score each output against the recording: STOI, wide-band PESQ "
                        "and DNSMOS P.808 (the recordings' own P.808 in the metadata)")
    p.add_argument("--seed", type=int, default=0,
                   help="untrained CNN weights, Griffin-Lim / PGHI random phase")
    return p.parse_args(argv)


def load_model(args, methods):
    """(keras model or None, config): the trained --model_path, or an untrained one of --preset."""
    if args.model:
        return load_vocoder(args.model)
    config = preset_config(args.preset)
    keras.utils.set_random_seed(args.seed)
    return (build_model(config) if any(m.startswith("cnn") for m in methods) else None), config


def load_clips(args, config):
    """[(name, wav, spec, mel)] of the held-out recordings."""
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for f in heldout_wavs(args, tmp):
            x, _ = load_audio(f, sr=config["sr"], min_samples=config["hop_length"])
            spec, mel = compute_features(x, config)
            clips.append((Path(f).stem, x, spec, mel))
    return clips


def input_of(name, args):
    """The spectrogram type row ``name`` inverts (the CNN always takes the normalised one)."""
    return "normalized_db" if METHODS[name][0] == "cnn" else args.spec_type


class Row:
    """One method of METHODS: its invert() call, timing and scores over the clips."""

    def __init__(self, name, nets, config, args):
        self.name, self.config, self.args = name, config, args
        self.method, self.kw = METHODS[name]
        model, fast = nets
        self.net = model if self.kw.get("fast") is False else fast
        self.spec_type = input_of(name, args)
        self.sc, self.lsd, self.seconds, self.first, self.speech = [], [], 0.0, None, []

    def features(self, clip):
        """[frames, bins] input of this row for ``clip`` (name, wav, spec, mel)."""
        if self.spec_type == "magnitude":
            return raw_magnitude(clip[1], self.config)
        return clip[3] if self.method == "cnn" and self.config["input"] == "mel" else clip[2]

    def call(self, feats, length=None):
        return invert(feats, self.method, model=self.net, config=self.config, length=length,
                      spec_type=self.spec_type, seed=self.args.seed, **self.kw)

    def run(self, clip):
        """Invert one clip (timed), re-analyse and score the output."""
        feats = self.features(clip)
        t0 = time.perf_counter()
        y = self.call(feats, length=len(clip[1]))
        self.seconds += time.perf_counter() - t0
        re_spec, _ = compute_features(y, self.config)
        if self.spec_type == "magnitude":
            ref, est = feats, raw_magnitude(y, self.config)
        else:
            ref, est = spec_to_magnitude(clip[2], self.config), spec_to_magnitude(re_spec,
                                                                                  self.config)
        self.sc.append(spectral_convergence(ref, est))
        self.lsd.append(log_spectral_distance(ref, est))
        self.first = re_spec if self.first is None else self.first
        if self.args.speech_metrics:  # after the timing: scoring is not the method's cost
            self.speech.append(speech_scores(clip[1], y, self.config["sr"]))

    def result(self, audio_seconds):
        out = {"spectral_convergence": round(float(np.mean(self.sc)), 4),
               "lsd_db": round(float(np.mean(self.lsd)), 3),
               "x_realtime": round(audio_seconds / self.seconds, 2), "input": self.spec_type}
        for key in (self.speech[0] if self.speech else {}):
            out[key] = round(float(np.mean([s[key] for s in self.speech])), 3)
        return out


def speech_scores(wav, y, sr):
    """STOI and wide-band PESQ of ``y`` against the recording ``wav`` (``y`` has its length:
    every row inverts with ``length=len(wav)``), DNSMOS P.808 of ``y``."""
    return {"stoi": stoi(wav, y, sr), "pesq_wb": pesq_wb(wav, y, sr), "p808": dnsmos(y, sr)["p808"]}


def measure(methods, clips, nets, config, args):
    """({name: result}, {name: first clip's re-analysed output}): every method on every
    clip, interleaved clip by clip, after one warm-up call each (tracing, numba)."""
    rows = [Row(name, nets, config, args) for name in methods]
    for row in rows:
        row.call(row.features(clips[0])[:20])
    for i, clip in enumerate(clips):
        for row in rows:
            row.run(clip)
        print(f"  clip {i + 1}/{len(clips)} {clip[0]}: done", flush=True)
    total_s = sum(len(c[1]) for c in clips) / config["sr"]
    return ({r.name: r.result(total_s) for r in rows},
            {r.name: r.first for r in rows if r.name != "cnn_keras"})


def print_table(results):
    print("\n| method | input | spectral convergence | LSD (dB) | x real time |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['input']} | {r['spectral_convergence']:.4f} | {r['lsd_db']:.2f} | "
              f"{r['x_realtime']:.1f} |")
    if "cnn" in results and "cnn_keras" in results:
        c, k = results["cnn"], results["cnn_keras"]
        print(f"CNN: FastVocoder {c['x_realtime']:.1f}x vs the keras model as built "
              f"{k['x_realtime']:.1f}x real time in this run (speed-up "
              f"{c['x_realtime'] / k['x_realtime']:.2f})")
    for ours, ref in (("pghi", "gl32"), ("pghi_fgla", "gl100")):
        if ours in results and ref in results:
            p, g = results[ours], results[ref]
            print(f"{ours} vs {ref}: SC {p['spectral_convergence']:.4f} vs "
                  f"{g['spectral_convergence']:.4f}, wall time ratio "
                  f"{g['x_realtime'] / p['x_realtime']:.2f} ({ours} / {ref})")


@cli_main
def main(argv=None):
    args = parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise InputError(f"unknown methods {sorted(unknown)} (choose from {list(METHODS)})")
    model, config = load_model(args, methods)
    fast = fast_vocoder(model, config) if model is not None else None
    clips = load_clips(args, config)
    total_s = sum(len(c[1]) for c in clips) / config["sr"]
    trained = bool(args.model)
    cnn = f"trained: {args.model}" if trained else "UNTRAINED (speed only)"
    source = f"LJSpeech {args.part} split" if args.part else (args.wav_dir or "synthetic")
    print(f"{len(clips)} clips ({source}), {total_s:.1f} s of audio at {config['sr']} Hz, "
          f"GL/PGHI input {args.spec_type}; CNN {cnn}; pghi_fgla "
          f"{PHASE_DEFAULTS['fgla_iter']} iterations; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores", flush=True)

    results, first_outputs = measure(methods, clips, (model, fast), config, args)
    print_table(results)
    clean_p808 = None
    if args.speech_metrics:
        clean_p808 = round(float(np.mean([dnsmos(c[1], config["sr"])["p808"] for c in clips])), 3)
        print("| method | STOI | PESQ-WB | P.808 |\n|---|---|---|---|")
        for name, r in results.items():
            print(f"| {name} | {r['stoi']:.3f} | {r['pesq_wb']:.2f} | {r['p808']:.2f} |")
        print(f"P.808 of the recordings themselves: {clean_p808:.2f}")
    if args.figure:
        plot(args.figure, clips[0][2], first_outputs, config,
             f"{clips[0][0]}: input and re-analysed outputs"
             + ("" if trained else " (CNN untrained)"))
        print(f"figure: {args.figure}")
    if args.json_out:
        meta = {"spec_type": args.spec_type, "source": source, "files": [c[0] for c in clips],
                "audio_seconds": total_s, "trained": trained, "model": args.model,
                "seed": args.seed, "phase_defaults": PHASE_DEFAULTS,
                "load_average": os.getloadavg()[0], "cpu_count": os.cpu_count(),
                "recordings_p808": clean_p808,
                "date": time.strftime("%Y-%m-%d %H:%M")}
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json_out, {"results": results, "meta": meta})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
