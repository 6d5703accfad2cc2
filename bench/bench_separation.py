"""Benchmark the separation methods' inference on one mixture (untrained models).

    python -m bench.bench_separation [--seconds 3] [--preset paper] [--seed 0]

Prints the real-time factor (processing time / audio duration) of feature
extraction, encoder block inference (batched blocks vs one block per call, same
run), Griffin-Lim (100 iterations), B2 sliding inference and the IBM oracle, with
the network sizes of a separation preset (separation/presets/{proposed,b2}/NAME.json).
The WaveNet vocoder has its own bench (bench/bench_wavenet.py). Last line: JSON.
"""
import argparse
import json
import time

import keras
import numpy as np

from dsp.spectral import griffin_lim
from separation import features as F
from separation import mixing
from separation.blocks import cut_blocks, predict_utterance, stitch
from separation.denoising_wavenet import B2Config, build_denoising_wavenet, denoise
from separation.encoder import EncoderConfig, build_encoder
from separation.separate import ideal_binary_mask


def _timeit(fn, repeat=2):
    fn()  # warm-up (graph tracing)
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--preset", default="default", help="network sizes: default (CPU) or paper")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    keras.utils.set_random_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    n = int(a.seconds * F.SR)
    t = np.arange(n) / F.SR
    speech = (0.3 * np.sin(2 * np.pi * 150 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    m, s, _ = mixing.mix_paper(speech, rng.normal(size=F.SR).astype(np.float32))
    ecfg = EncoderConfig.from_preset(a.preset)
    bcfg = B2Config.from_preset(a.preset)
    enc = build_encoder("proposed", ecfg)
    b2 = build_denoising_wavenet(bcfg)
    feats = F.mixture_features(m)

    def one_block_per_call():
        cut = {k: cut_blocks(v, ecfg.frames)[0] for k, v in feats.items()}
        # predict_on_batch: no per-call data-adapter overhead (predict() pays ~10s of ms per
        # call), so batched_speedup measures batching alone (issue 21)
        outs = [np.asarray(enc.predict_on_batch({k: v[i:i + 1] for k, v in cut.items()}))[0]
                for i in range(len(cut["mel"]))]
        return stitch(np.stack(outs), len(feats["mel"]))

    res = {
        "features_rtf": _timeit(lambda: F.mixture_features(m)) / a.seconds,
        "encoder_batched_rtf": _timeit(lambda: predict_utterance(enc, feats, ecfg.frames)) / a.seconds,
        "encoder_per_block_rtf": _timeit(one_block_per_call) / a.seconds,
        "griffin_lim_100_rtf": _timeit(lambda: griffin_lim(np.abs(F.complex_stft(m)), 100, F.HOP,
                                                           n_fft=F.N_FFT, length=n), 1) / a.seconds,
        "b2_rtf": _timeit(lambda: denoise(b2, bcfg, m), 1) / a.seconds,
        "ibm_rtf": _timeit(lambda: ideal_binary_mask(m, s)) / a.seconds,
    }
    res["batched_speedup"] = res["encoder_per_block_rtf"] / res["encoder_batched_rtf"]
    for k, v in res.items():
        print(f"{k:>24}: {v:.4f}")
    print(json.dumps({k: round(v, 4) for k, v in res.items()}))


if __name__ == "__main__":
    main()
