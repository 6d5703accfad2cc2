#!/usr/bin/env python
"""Speed of get_mfcc's analysis: vectorised dsp.mfcc vs a per-frame loop.

Both run in this process on one core (BLAS threads pinned to 1) on the same
60 s of speech: real LJSpeech clips when AUDIOSYNTH_REALDATA is set (or
--wav_dir), else a synthetic harmonic signal.  The per-frame baseline runs on
--baseline_seconds of it and is scaled linearly (its cost is per frame).
The last line is one JSON object {"x_realtime": ..., "speedup_vs_per_frame": ...}.
"""
import os

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.per_frame_mfcc import analyze_per_frame  # noqa: E402
from dsp.audio import load_audio  # noqa: E402
from dsp.mfcc import MfccConfig, analyze  # noqa: E402

SR = 16000


def speech(seconds, wav_dir):
    if wav_dir:
        files = sorted(Path(wav_dir).rglob("*.wav"))
        parts, total = [], 0
        for f in files:
            x, _ = load_audio(f, sr=SR)
            parts.append(x)
            total += len(x)
            if total >= seconds * SR:
                break
        x = np.concatenate(parts)
        while len(x) < seconds * SR:
            x = np.concatenate([x, x])
        return x[:int(seconds * SR)], f"{len(files)} wavs from {wav_dir}"
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.3 * t)
    ph = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * ph) / k for k in range(1, 40)) * (1.2 + np.sin(2 * np.pi * 2 * t))
    return 0.1 * x + 0.01 * np.random.default_rng(0).standard_normal(len(t)), "synthetic"


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--baseline_seconds", type=float, default=10.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--wav_dir", default=None,
                   help="speech folder (default: $AUDIOSYNTH_REALDATA/ljspeech_sample)")
    args = p.parse_args()
    wav_dir = args.wav_dir
    if wav_dir is None and os.environ.get("AUDIOSYNTH_REALDATA"):
        wav_dir = Path(os.environ["AUDIOSYNTH_REALDATA"]) / "ljspeech_sample" / "wavs"
    x, source = speech(args.seconds, wav_dir)
    cfg = MfccConfig()
    analyze(x[:SR], cfg)  # warm-up (caches the filterbank matrices)
    fast = best_of(lambda: analyze(x, cfg), args.repeats)
    n_base = int(args.baseline_seconds * SR)
    slow = best_of(lambda: analyze_per_frame(x[:n_base]), 1) * len(x) / n_base
    x_rt = args.seconds / fast
    print(f"audio: {args.seconds:.0f} s ({source})")
    print(f"vectorised dsp.mfcc.analyze: {fast:.3f} s  ({x_rt:.0f}x real time, "
          f"{fast / args.seconds * 60:.3f} s per minute)")
    print(f"per-frame loop (scaled from {args.baseline_seconds:.0f} s): {slow:.2f} s")
    print(json.dumps({"x_realtime": round(x_rt, 1),
                      "speedup_vs_per_frame": round(slow / fast, 1)}))


if __name__ == "__main__":
    main()
