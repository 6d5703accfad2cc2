"""Speed of get_mfcc.py as a user meets it: start-up and whole processes.

    python -m bench.bench_get_mfcc [--seconds 60] [--repeats 3] [--wav_dir DIR]

Every figure is measured in this run, on the same input files, with the same
treatment for the fast path and its baseline: each command runs once untimed
(warm page cache and .pyc files), then `--repeats` timed runs of each,
interleaved, and the median is reported. Every process has BLAS pinned to one
thread and caches bytecode as an ordinary Python does (in a scratch folder,
PYTHONPYCACHEPREFIX, even where PYTHONDONTWRITEBYTECODE is set), so no run
pays for compiling the toolkit's sources.

* start-up: `python get_mfcc.py --help` against `python -c "import numpy"`
  (the issue's bar: within 2x);
* whole process on one file of `--seconds` of speech at 16 kHz:
  `python get_mfcc.py --input_file ...` against the per-frame reference
  `python -m bench.per_frame_mfcc --input_file ...` (the bar: 8x faster);
* a folder of the same speech as its separate clips: one
  `get_mfcc.py --input_dir` process against one `get_mfcc.py --input_file`
  process per clip;
* in-process analysis of the whole speech: dsp.mfcc.analyze against the per-frame
  reference's analyze_per_frame, both warm, median of `--repeats` interleaved calls.

Speech: LJSpeech clips from --wav_dir or $AUDIOSYNTH_REALDATA/ljspeech_sample/wavs
(resampled to 16 kHz), else the embedded synthetic corpus, concatenated and cut
to --seconds. The last line printed is one JSON object.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from bench.per_frame_mfcc import analyze_per_frame
from corpus.synth import make_corpus
from dsp.audio import load_audio, write_wav
from dsp.mfcc import MfccConfig, analyze

SR = 16000
REPO = Path(__file__).resolve().parent.parent
ONE_THREAD = {var: "1" for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                   "MKL_NUM_THREADS")}


def speech_clips(seconds, wav_dir, scratch):
    """16 kHz clips adding up to `seconds`, and where they came from."""
    if wav_dir is None:
        make_corpus(scratch / "synthetic", minutes=seconds / 60.0 + 0.1, seed=0)
        wav_dir, source = scratch / "synthetic" / "wav", "synthetic corpus (seed 0)"
    else:
        source = f"LJSpeech clips from {wav_dir}"
    files = sorted(Path(wav_dir).glob("*.wav"))
    clips, total = [], 0
    for f in files:
        x, _ = load_audio(f, sr=SR)
        x = x[:int(seconds * SR) - total]
        clips.append((f.stem, x))
        total += len(x)
        if total >= seconds * SR:
            break
    if total < seconds * SR:
        raise SystemExit(f"error: {wav_dir}: only {total / SR:.1f} s of speech, "
                         f"need {seconds} s")
    return clips, f"{source}, {len(clips)} clips"


def cpu_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd, pycache):
    """(wall-clock, CPU) seconds of one whole process; fails loudly on a non-zero exit.

    CPU time (user + system) is reported beside wall-clock time because on a
    shared machine the wall clock also counts the time other processes held the cores.
    """
    env = dict(os.environ, **ONE_THREAD, PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cpu0, t0 = cpu_of_children(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - t0, cpu_of_children() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(map(str, cmd))} failed:\n{proc.stderr}")
    return np.array([elapsed, cpu])


def race(commands, repeats, pycache):
    """Median (wall, CPU) seconds of each named command (a list of argv lists, run in turn).

    Each runs once untimed, then `repeats` timed rounds interleave the commands.
    """
    times = {name: [] for name in commands}
    for round_ in range(repeats + 1):
        for name, cmds in commands.items():
            elapsed = sum(timed(cmd, pycache) for cmd in cmds)
            if round_:
                times[name].append(elapsed)
    return {name: np.median(np.array(t), axis=0) for name, t in times.items()}


def in_process_seconds(x, repeats):
    """Median seconds of dsp.mfcc.analyze and of the per-frame baseline on the same x (one
    BLAS thread): each warmed up by one untimed call, then `repeats` timed calls of each,
    interleaved. Returns {"analyze": s, "per_frame": s}."""
    cfg = MfccConfig()
    calls = {"analyze": lambda: analyze(x, cfg), "per_frame": lambda: analyze_per_frame(x)}
    times = {name: [] for name in calls}
    with threadpool_limits(limits=1):
        for round_ in range(repeats + 1):
            for name, call in calls.items():
                t0 = time.perf_counter()
                call()
                if round_:
                    times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def measure(args, clips, scratch):
    """All timings on the clips (written to scratch); a dict of results."""
    py = sys.executable
    pycache = scratch / "pycache"
    one = scratch / "speech.wav"
    write_wav(one, np.concatenate([x for _, x in clips]), SR)
    folder = scratch / "clips"
    folder.mkdir()
    for stem, x in clips:
        write_wav(folder / f"{stem}.wav", x, SR)
    fast_out = [f"--lsf_file={scratch / 'fast.lsf'}", f"--mfcc_file={scratch / 'fast.mfcc'}"]
    ref_out = [f"--lsf_file={scratch / 'ref.lsf'}", f"--mfcc_file={scratch / 'ref.mfcc'}"]
    startup = race({"numpy": [[py, "-c", "import numpy"]],
                    "help": [[py, "get_mfcc.py", "--help"]]}, args.startup_repeats, pycache)
    whole = race({"get_mfcc": [[py, "get_mfcc.py", f"--input_file={one}", *fast_out]],
                  "per_frame": [[py, "-m", "bench.per_frame_mfcc", f"--input_file={one}",
                                 *ref_out]]}, args.repeats, pycache)
    fast = np.fromfile(scratch / "fast.lsf", np.float32)
    ref = np.fromfile(scratch / "ref.lsf", np.float32)
    result = {"startup": startup, "whole": whole,
              "lsf_max_abs_diff": float(np.max(np.abs(fast - ref)))}
    if not args.skip_folder:
        result["folder"] = race(
            {"one_process": [[py, "get_mfcc.py", f"--input_dir={folder}",
                              f"--output_dir={scratch / 'out'}"]],
             "per_file": [[py, "get_mfcc.py", f"--input_file={folder / f'{s}.wav'}",
                           f"--lsf_file={scratch / 'one.lsf'}",
                           f"--mfcc_file={scratch / 'one.mfcc'}"] for s, _ in clips]},
            args.repeats, pycache)
    return result


def main():
    p = argparse.ArgumentParser(prog="python -m bench.bench_get_mfcc", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0, help="speech duration (default 60)")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed runs of each whole-process command (default 3)")
    p.add_argument("--startup_repeats", type=int, default=11,
                   help="timed runs of each start-up command (default 11)")
    p.add_argument("--skip_folder", action="store_true",
                   help="skip the folder comparison (one process vs one per clip)")
    p.add_argument("--wav_dir", default=None,
                   help="speech folder (default: $AUDIOSYNTH_REALDATA/ljspeech_sample/wavs, "
                        "else the synthetic corpus)")
    args = p.parse_args()
    wav_dir = args.wav_dir
    if wav_dir is None and os.environ.get("AUDIOSYNTH_REALDATA"):
        wav_dir = Path(os.environ["AUDIOSYNTH_REALDATA"]) / "ljspeech_sample" / "wavs"
    with tempfile.TemporaryDirectory(prefix="bench_get_mfcc_") as tmp:
        scratch = Path(tmp)
        clips, source = speech_clips(args.seconds, wav_dir, scratch)
        r = measure(args, clips, scratch)
        analysis = in_process_seconds(np.concatenate([x for _, x in clips]), args.repeats)
    st, wh = r["startup"], r["whole"]
    w = 0  # index of the wall-clock time; 1 is CPU time
    print(f"speech: {args.seconds:.0f} s at {SR} Hz ({source}); medians of "
          f"{args.repeats} runs (start-up: {args.startup_repeats}), one BLAS thread; "
          f"wall clock (CPU user+sys)")
    print(f"start-up: get_mfcc.py --help {st['help'][w]:.3f} s ({st['help'][1]:.3f}), "
          f"python -c 'import numpy' {st['numpy'][w]:.3f} s ({st['numpy'][1]:.3f}): "
          f"{st['help'][w] / st['numpy'][w]:.2f}x ({st['help'][1] / st['numpy'][1]:.2f}x) (bar: 2x)")
    print(f"whole process, one {args.seconds:.0f} s file: get_mfcc.py {wh['get_mfcc'][w]:.2f} s "
          f"({wh['get_mfcc'][1]:.2f}), per-frame reference {wh['per_frame'][w]:.2f} s "
          f"({wh['per_frame'][1]:.2f}): {wh['per_frame'][w] / wh['get_mfcc'][w]:.1f}x "
          f"({wh['per_frame'][1] / wh['get_mfcc'][1]:.1f}x) faster (bar: 8x); "
          f"LSFs agree to {r['lsf_max_abs_diff']:.1e} rad")
    print(f"in-process, warm, median of {args.repeats}: dsp.mfcc.analyze {analysis['analyze']:.3f} s "
          f"({args.seconds / analysis['analyze']:.0f}x real time), per-frame analyze_per_frame "
          f"{analysis['per_frame']:.3f} s ({args.seconds / analysis['per_frame']:.1f}x real time): "
          f"{analysis['per_frame'] / analysis['analyze']:.1f}x faster")
    summary = {"seconds": args.seconds, "source": source, "repeats": args.repeats,
               "help_s": round(st["help"][w], 3), "import_numpy_s": round(st["numpy"][w], 3),
               "startup_ratio": round(st["help"][w] / st["numpy"][w], 2),
               "startup_ratio_cpu": round(st["help"][1] / st["numpy"][1], 2),
               "get_mfcc_s": round(wh["get_mfcc"][w], 3), "per_frame_s": round(wh["per_frame"][w], 3),
               "get_mfcc_cpu_s": round(wh["get_mfcc"][1], 3),
               "per_frame_cpu_s": round(wh["per_frame"][1], 3),
               "speedup_whole_process": round(wh["per_frame"][w] / wh["get_mfcc"][w], 1),
               "speedup_whole_process_cpu": round(wh["per_frame"][1] / wh["get_mfcc"][1], 1),
               "analysis_s": round(analysis["analyze"], 3),
               "per_frame_analysis_s": round(analysis["per_frame"], 3),
               "speedup_in_process": round(analysis["per_frame"] / analysis["analyze"], 1),
               "x_realtime": round(args.seconds / analysis["analyze"], 1)}
    if "folder" in r:
        fo = r["folder"]
        print(f"folder of {len(clips)} clips: one --input_dir process {fo['one_process'][w]:.2f} s "
              f"({fo['one_process'][1]:.2f}), one process per file {fo['per_file'][w]:.2f} s "
              f"({fo['per_file'][1]:.2f}): {fo['per_file'][w] / fo['one_process'][w]:.1f}x")
        summary.update(n_clips=len(clips), folder_one_process_s=round(fo["one_process"][w], 3),
                       folder_per_file_s=round(fo["per_file"][w], 3))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
