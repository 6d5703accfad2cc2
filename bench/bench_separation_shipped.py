"""Benchmark the trained separation models end to end on one mixture (default: 10 s).

    python -m bench.bench_separation_shipped [--model_dir pretrained/separation] [--seconds 10] \
        [--input MIX.wav] [--methods proposed,b1,b2] [--seed 0]

Times `separation.separate.Separator` as a user runs it (models loaded once, one warm-up on a
1-s mixture first so graph tracing is not counted), on the same mixture for every method: the
proposed method split into its encoder, WaveNet generation and mel post-filter shares, next to
B1 (encoder + 100 Griffin-Lim iterations) and B2 in the same run. Without --input the mixture is
a synthetic voiced signal (150 Hz with a slow contour) mixed with white noise by the paper's
rule at the models' rate. Last line: JSON (seconds and real-time factors).
"""
import argparse
import json
import time

import numpy as np

from dsp.audio import cli_main, load_audio
from separation import mixing
from separation.features import load_settings
from separation.separate import Separator
from wavenet.features import mel_postfilter


def synthetic_mixture(seconds, sr, seed=0):
    """A voiced test signal (harmonics of a 120-180 Hz contour, syllable-rate envelope) plus white noise."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = 150 + 30 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    noise = np.random.default_rng(seed).standard_normal(sr)
    return mixing.mix_paper(voiced.astype(np.float32), noise.astype(np.float32))[0]


def _seconds(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_method(method, model_dir, mixture, warmup, seed):
    """{"<method>_s": wall seconds} (+ the proposed method's shares)."""
    sep = Separator(method, model_dir, progress=False, seed=seed)
    sep.separate(warmup)
    total, out = _seconds(lambda: sep.separate(mixture))
    res = {f"{method}_s": total}
    if method == "proposed":
        enc, mel = _seconds(lambda: sep.estimate_features(mixture))
        cfg = sep.voc[1]
        usable = mel[: len(out) // cfg.hop]
        post, _ = _seconds(lambda: mel_postfilter(out[: len(usable) * cfg.hop], usable, cfg,
                                                  n_iter=sep.postfilter_iters))
        res.update(proposed_encoder_s=enc, proposed_postfilter_s=post,
                   proposed_vocoder_s=max(0.0, total - enc - post))
    return res


@cli_main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--model_dir", default="pretrained/separation")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--input", help="a mixture to separate instead of the synthetic one (cut to --seconds)")
    p.add_argument("--methods", default="proposed,b1,b2")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    sr = load_settings(a.model_dir).sample_rate
    if a.input:
        mixture = load_audio(a.input, sr=sr)[0][: int(a.seconds * sr)]
    else:
        mixture = synthetic_mixture(a.seconds, sr, a.seed)
    seconds = len(mixture) / sr
    res = {"audio_s": seconds}
    for method in a.methods.split(","):
        res.update(bench_method(method.strip(), a.model_dir, mixture, mixture[:sr], a.seed))
    for k in [k for k in res if k.endswith("_s") and k != "audio_s"]:
        res[k[:-2] + "_rtf"] = res[k] / seconds
    for k, v in res.items():
        print(f"{k:>26}: {v:.3f}")
    print(json.dumps({k: round(v, 4) for k, v in res.items()}))


if __name__ == "__main__":
    main()
