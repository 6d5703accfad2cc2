"""AudioRNN benchmark: training memory on an hour of audio, generation speed.

TensorFlow-only: part (2) runs the TensorFlow generators of audiornn/generation.py.

(1) Peak resident memory of training with T = 1000 (default sizes: 256
    neurons, batch 128 fed as 8 micro-batches of 16 with gradient
    accumulation) on 60 minutes of 8 kHz audio, against the original
    scheme, measured: the memory (tracemalloc) of building the original's
    training arrays -- every window copied (audiornn.windows.original_windows)
    and scaled to float32 [N, T, 1], with the targets -- for the first
    --original_windows windows of the same codes, extrapolated per window to
    all N windows (the N x T x 4 bytes formula is printed beside it, labelled
    as the formula).  The hour is
    the real FSDD recordings (--realdata or $AUDIOSYNTH_REALDATA/fsdd_8k)
    topped up with the embedded synthetic corpus (cached under --workdir);
    without real data it is all synthetic.
(2) Samples per second of the original sliding-window generation and of the
    stateful single-step generation, same trained weights, same run, one
    stream, greedy, from the same seed window, and whether both produce
    identical codes.

The last line printed is one JSON object:
{"peak_rss_mb", "original_scheme_mb" (measured, extrapolated),
"original_scheme_formula_mb", "sliding_samples_per_s",
 "stateful_samples_per_s", "speedup", "greedy_identical", ...}

    python -m bench.bench_audiornn --realdata ../shared/realdata
    python -m bench.bench_audiornn --minutes 5 --timesteps 200 --steps 2   # quick look
"""
import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import keras
import numpy as np

from audiornn.AudioRNNData import CodeCache, load_or_prepare
from audiornn.generation import StatefulGenerator, generate_sliding, use_one_thread
from audiornn.model import build_model, compile_model
from audiornn.windows import EvalWindows, TrainWindows, original_windows, split_train_val
from corpus.synth import make_corpus


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def original_scheme_bytes(codes, timesteps, n_windows):
    """Memory of the original scheme's training arrays for the first `n_windows` windows.

    Builds them as the original did -- every window copied, scaled to float32
    [N, T, 1] for Keras, and the next-code targets -- under tracemalloc (numpy
    reports its buffers to it). Returns (held bytes once built, peak bytes while building).
    """
    tracemalloc.start()
    X, y = original_windows(codes[:n_windows + timesteps], timesteps)
    X = (X.astype(np.float32) / np.float32(255.0))[..., None]
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert X.shape == (n_windows, timesteps, 1) and y.shape == (n_windows,)
    return held, peak


def hour_of_codes(args):
    """Code cache of `args.minutes` of 8 kHz audio: real FSDD first, synthetic for the rest."""
    work = Path(args.workdir)
    parts = []
    realdata = args.realdata or os.environ.get("AUDIOSYNTH_REALDATA")
    if realdata:
        fsdd = Path(realdata) / "fsdd_8k"
        parts.append(load_or_prepare(fsdd, work / "fsdd_8k.codes.npz", sr=8000, progress=False))
    have = sum(len(c.codes) for c in parts) / 8000 / 60
    missing = args.minutes - have
    if missing > 0.05:
        synth = work / f"synthetic_{missing:.1f}min"
        if not (synth / "metadata.csv").exists():
            print(f"synthesising {missing:.1f} min of corpus into {synth} ...", file=sys.stderr)
            make_corpus(synth, minutes=missing, sr=8000, seed=0, progress=True)
        parts.append(load_or_prepare(synth, work / f"synthetic_{missing:.1f}min.codes.npz",
                                     sr=8000, progress=False))
    codes = np.concatenate([c.codes for c in parts])
    lengths = np.concatenate([c.lengths for c in parts])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return CodeCache(codes, starts, lengths, {"sr": 8000, "mu": 255}), have


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--realdata", default=None, help="real-data folder (holds fsdd_8k/)")
    p.add_argument("--workdir", default="data/bench_audiornn", help="cache for codes and the synthetic corpus")
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--timesteps", type=int, default=1000)
    p.add_argument("--neurons", type=int, default=256)
    p.add_argument("--batchsize", type=int, default=128)
    p.add_argument("--accumulate", type=int, default=8,
                   help="micro-batches per batch (gradient accumulation; AudioRNN.py --accumulate)")
    p.add_argument("--steps", type=int, default=1, help="optimizer updates for the memory measurement")
    p.add_argument("--sliding_samples", type=int, default=60, help="samples generated by the slow method")
    p.add_argument("--stateful_samples", type=int, default=8000)
    p.add_argument("--original_windows", type=int, default=20000,
                   help="windows of the original scheme built and measured (extrapolated to all)")
    args = p.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)

    cache, real_minutes = hour_of_codes(args)
    keras.utils.set_random_seed(0)
    T = args.timesteps
    train_idx, val_idx = split_train_val(cache.starts, cache.lengths, T, 0.1)
    n_windows = len(cache.codes) - T  # the original windowed the whole stream
    print(f"data: {len(cache.codes) / 8000 / 60:.1f} min ({real_minutes:.1f} real), "
          f"{len(cache.lengths)} files, codes {cache.codes.nbytes / 2**20:.1f} MB; "
          f"{len(train_idx)} training / {len(val_idx)} validation windows", flush=True)

    # (1) training memory
    model = compile_model(build_model(T, args.neurons), accumulate=args.accumulate)
    train = TrainWindows(cache.codes, train_idx, args.batchsize // args.accumulate,
                         steps_per_epoch=args.steps * args.accumulate)
    val = EvalWindows(cache.codes, val_idx, args.batchsize, max_windows=args.batchsize)
    t0 = time.perf_counter()
    model.fit(train, validation_data=val, epochs=1, verbose=2)
    train_s = time.perf_counter() - t0
    rss = peak_rss_mb()
    formula_mb = n_windows * T * 4 / 2**20
    n_small = min(args.original_windows, n_windows)
    held, peak = original_scheme_bytes(cache.codes, T, n_small)
    original_mb = held / n_small * n_windows / 2**20
    print(f"training: {args.steps} updates of {args.batchsize} windows "
          f"({args.accumulate} micro-batches each) in {train_s:.1f} s, peak RSS {rss:.0f} MB", flush=True)
    print(f"original scheme, measured (tracemalloc) on {n_small} windows: {held / 2**20:.1f} MB held "
          f"({held / n_small:.0f} bytes/window; {peak / 2**20:.1f} MB peak while building) -> "
          f"{original_mb:.0f} MB held ({peak / n_small * n_windows / 2**20:.0f} MB peak) for all {n_windows} "
          f"windows; formula N*T*4 bytes: {formula_mb:.0f} MB",
          flush=True)

    # (2) generation speed, same weights, one stream, greedy, same seed window
    use_one_thread()  # as AudioRNN.py -g (after training here: then it changes nothing)
    seed = cache.codes[val_idx.starts([len(val_idx) // 2])[0]:][:T][None, :]
    generate_sliding(model, seed, 2)  # trace
    t0 = time.perf_counter()
    slow = generate_sliding(model, seed, args.sliding_samples)
    sliding_rate = args.sliding_samples / (time.perf_counter() - t0)
    gen = StatefulGenerator(model)
    gen(seed, gen.chunk)  # trace and compile
    t0 = time.perf_counter()
    fast = gen(seed, args.stateful_samples)
    stateful_rate = args.stateful_samples / (time.perf_counter() - t0)  # includes the T-step warm-up
    n_cmp = args.sliding_samples
    identical = bool(np.array_equal(slow[0], fast[0, :n_cmp]))
    agree = int(np.argmin(np.append(slow[0] == fast[0, :n_cmp], False)))
    print(f"generation: sliding {sliding_rate:.2f} samples/s, stateful {stateful_rate:.0f} samples/s "
          f"(x{stateful_rate / sliding_rate:.0f}); greedy codes identical over {n_cmp}: {identical} "
          f"(first {agree} agree)", flush=True)
    print(json.dumps({
        "peak_rss_mb": round(rss, 1), "original_scheme_mb": round(original_mb, 1),
        "original_scheme_peak_mb": round(peak / n_small * n_windows / 2**20, 1),
        "original_scheme_formula_mb": round(formula_mb, 1),
        "original_scheme_measured_windows": n_small,
        "original_scheme_bytes_per_window": round(held / n_small, 1),
        "rss_over_original": round(rss / original_mb, 5),
        "sliding_samples_per_s": round(sliding_rate, 3),
        "stateful_samples_per_s": round(stateful_rate, 1),
        "speedup": round(stateful_rate / sliding_rate, 1), "greedy_identical": identical,
        "greedy_compared": n_cmp, "minutes": round(len(cache.codes) / 8000 / 60, 2),
        "real_minutes": round(real_minutes, 2), "timesteps": T, "neurons": args.neurons,
        "batchsize": args.batchsize, "accumulate": args.accumulate,
        "train_updates": args.steps, "train_s_per_update": round(train_s / args.steps, 2),
        "load_avg_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
