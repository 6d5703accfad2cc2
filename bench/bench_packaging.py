"""Packaging speed: seconds of speech packaged per second of one CPU core.

Packages a synthetic corpus (default 60 s of speech, generated first and not
timed) or --wav_dir with ``resgan.packaging.package`` (no figures), single-threaded,
and prints x real time from the process CPU time (robust on a shared machine) and
from the wall-clock time. Measured in the same run, on the same utterances (loaded
and resampled once, not timed), each warmed up on the first utterance first:

* the per-utterance analysis ``resgan.packaging.analyze_utterance`` alone, against
  the baseline, a straightforward per-frame implementation with librosa's pYIN
  (bench/per_utterance_packaging.py), CPU time of both;
* get_mfcc.py's analysis alone (``dsp.mfcc.analyze``), the floor.

Target: >= 20x real time.

    python -m bench.bench_packaging [--seconds 60] [--wav_dir DIR]

The last line is one JSON object: {"x_realtime": ..., "baseline_x_realtime": ..., ...}.
"""
import os

# one core: the thread pools read these when numpy/scipy load, so they are set before any import
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.per_utterance_packaging import analyze_utterance_per_frame  # noqa: E402
from corpus.synth import make_corpus  # noqa: E402
from dsp.audio import load_audio, resample  # noqa: E402
from dsp.mfcc import MfccConfig, analyze  # noqa: E402
from resgan import packaging as rp  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="synthetic speech to package")
    parser.add_argument("--wav_dir", type=Path, default=None, help="package this folder instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.wav_dir is None:
            make_corpus(tmp / "corpus", minutes=args.seconds / 60.0, seed=0)
            wav_dir = tmp / "corpus" / "wav"
        else:
            wav_dir = args.wav_dir
        # warm-up (imports, FFT plans) on one file
        x, sr = load_audio(sorted(wav_dir.glob("*.wav"))[0])
        rp.analyze_utterance(resample(x, sr, 16000) if sr != 16000 else x)

        wall0, cpu0 = time.perf_counter(), time.process_time()
        summary = rp.package(wav_dir, tmp / "train", tmp / "test", test_fraction=0.05,
                             files_per_nc=100, figures_every=0, progress=False)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        audio = summary["seconds"]

        # the same utterances, loaded and resampled once (not timed)
        signals = []
        for wav in sorted(wav_dir.glob("*.wav")):
            x, sr = load_audio(wav)
            signals.append(np.asarray(resample(x, sr, 16000) if sr != 16000 else x, np.float64))

    def cpu_seconds(analysis):
        analysis(signals[0])  # warm-up (imports, FFT plans, numba compilation) on one utterance
        t0 = time.process_time()
        for x in signals:
            analysis(x)
        return time.process_time() - t0

    speech = sum(len(x) for x in signals) / 16000.0
    fast_cpu = cpu_seconds(rp.analyze_utterance)
    base_cpu = cpu_seconds(analyze_utterance_per_frame)
    mfcc_cpu = cpu_seconds(lambda x: analyze(x, MfccConfig()))
    # the baseline is a like-for-like analysis: its F0 agrees with ours where both say voiced
    ours, theirs = rp.analyze_utterance(signals[0]).f0, analyze_utterance_per_frame(signals[0])[2]
    both = (ours > 0) & (theirs > 0)
    f0_agree = float(np.mean(np.abs(ours[both] / theirs[both] - 1) < 0.05)) if both.any() else float("nan")

    x_rt = audio / cpu
    print(f"packaged {audio:.1f} s of speech ({summary['n_train']} + {summary['n_test']} utterances)")
    print(f"CPU time {cpu:.2f} s -> {x_rt:.1f}x real time on one core (target >= 20x)")
    print(f"wall time {wall:.2f} s -> {audio / wall:.1f}x real time (inflated by other load)")
    print(f"analysis alone, same {len(signals)} utterances, warm, CPU time: "
          f"analyze_utterance {fast_cpu:.2f} s ({speech / fast_cpu:.1f}x real time), "
          f"per-frame baseline with pYIN {base_cpu:.2f} s ({speech / base_cpu:.2f}x real time): "
          f"{base_cpu / fast_cpu:.1f}x faster (F0 within 5 % on {f0_agree:.1%} of the frames both "
          f"call voiced, first utterance)")
    print(f"MFCC analysis alone: {speech / mfcc_cpu:.1f}x real time; packaging costs "
          f"{(cpu / audio) / (mfcc_cpu / speech):.2f}x the MFCC analysis")
    print(json.dumps({"x_realtime": round(x_rt, 2), "x_realtime_wall": round(audio / wall, 2),
                      "audio_seconds": round(audio, 2),
                      "analysis_x_realtime": round(speech / fast_cpu, 2),
                      "baseline_x_realtime": round(speech / base_cpu, 3),
                      "speedup_over_baseline": round(base_cpu / fast_cpu, 1),
                      "baseline_f0_agreement": round(f0_agree, 3),
                      "mfcc_only_x_realtime": round(speech / mfcc_cpu, 2)}))

if __name__ == "__main__":
    main()
