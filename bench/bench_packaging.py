"""Packaging speed: seconds of speech packaged per second of one CPU core.

Packages a synthetic corpus (default 60 s of speech, generated first and not
timed) or --wav_dir with ``resgan.packaging.package`` (no figures), single-threaded,
and prints x real time from the process CPU time (robust on a shared machine) and
from the wall-clock time, plus the cost of get_mfcc.py's analysis alone measured in
the same run as a reference. Target: >= 20x real time.

    python -m bench.bench_packaging [--seconds 60] [--wav_dir DIR]

The last line is one JSON object: {"x_realtime": ...}.
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

        # reference in the same run: get_mfcc.py's analysis alone on the same audio
        signals = []
        for wav in sorted(wav_dir.glob("*.wav")):
            x, sr = load_audio(wav)
            signals.append(resample(x, sr, 16000) if sr != 16000 else x)
        cpu1 = time.process_time()
        for x in signals:
            analyze(np.asarray(x, np.float64), MfccConfig())
        mfcc_cpu = time.process_time() - cpu1

    x_rt = audio / cpu
    print(f"packaged {audio:.1f} s of speech ({summary['n_train']} + {summary['n_test']} utterances)")
    print(f"CPU time {cpu:.2f} s -> {x_rt:.1f}x real time on one core (target >= 20x)")
    print(f"wall time {wall:.2f} s -> {audio / wall:.1f}x real time (inflated by other load)")
    print(f"MFCC analysis alone: {audio / mfcc_cpu:.1f}x real time; packaging costs "
          f"{cpu / mfcc_cpu:.2f}x the MFCC analysis")
    print(json.dumps({"x_realtime": round(x_rt, 2), "x_realtime_wall": round(audio / wall, 2),
                      "audio_seconds": round(audio, 2), "mfcc_only_x_realtime": round(audio / mfcc_cpu, 2)}))


if __name__ == "__main__":
    main()
