"""Choose the PGHI settings and the FGLA iteration count on the TRAINING clips only.

Every setting of the phase reconstruction of ``cnnvocoder.inversion.invert``
(PGHI's silence tolerance ``tol_db``, declipping on/off and its caps, the
number N of fast Griffin-Lim iterations of ``pghi_fgla``) is measured here on
the training part of the fixed LJSpeech split (``cnnvocoder.ljspeech_split``,
LJ001-0001..0020) at the repository's STFT settings, from the input a user of
``invert()`` passes (the normalised dB spectrogram of ``cnnvocoder.gen_spec``,
clipped at |X| = 10; ``--spec_type magnitude`` tunes on the raw magnitude).
The score is the mean over clips of the spectral convergence of the
re-analysed output against the spectrogram asked for (as bench_inversion).

Rules, fixed before any validation or test clip was looked at:
  1. declip (off, or each cap pair) at tol_db 100: lowest mean SC;
  2. tol_db in TOLS with that declip: the largest tol whose mean SC is within
     0.5 % of the lowest (a lower tol gives random phase to more of the floor:
     a worse LSD for an SC difference in the noise);
  3. N: among the counts of N_GRID that take at most half of GL-100's wall
     time, the smallest N >= 2 whose mean SC is within 2 % of their lowest
     (the iterations after it buy little).

Prints every measurement and writes them with the choice to ``--json_out``.

    python -m cnnvocoder.tune_phase --part train --json_out bench/results/phase_tuning.json
"""
import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np

from cnnvocoder.config import DEFAULT_PRESET, preset_config
from cnnvocoder.features import compute_features, spec_to_magnitude
from cnnvocoder.ljspeech_split import PARTS, split_part
from corpus.readers import list_wavs
from dsp.audio import InputError, cli_main, load_audio, write_json
from dsp.metrics import log_spectral_distance, spectral_convergence
from dsp.pghi import declip, fgla_steps, pghi_phase
from dsp.spectral import griffin_lim, istft, stft

DECLIP_GRID = [None, (5.0, 3.0), (8.0, 3.0), (8.0, 5.0), (10.0, 3.0), (10.0, 5.0), (10.0, 8.0),
               (12.0, 5.0), (15.0, 5.0), (20.0, 8.0)]  # (max_excess_db, fallback_db) or off
TOLS = (40.0, 60.0, 80.0, 100.0)
N_GRID = (0, 2, 4, 8, 12, 16, 24, 32, 48, 64)
GL_ITERS = (32, 100)


def load_clips(paths, config, spec_type):
    """Clips as dicts: name, x [n], target [frames, bins] (the magnitude asked for).

    Args:
        paths: wav paths; config: analysis settings; spec_type: "normalized_db"
            (target = the clipped magnitude of the normalised spectrogram) or
            "magnitude" (the raw STFT magnitude).

    Returns:
        list of dicts.
    """
    clips = []
    for p in paths:
        x, _ = load_audio(p, sr=config["sr"], min_samples=config["hop_length"])
        clips.append({"name": Path(p).stem, "x": x, "target": analyse(x, config, spec_type)})
    return clips


def analyse(y, config, spec_type):
    """[frames, bins] magnitude of a waveform as the chosen input type sees it."""
    if spec_type == "magnitude":
        return np.abs(stft(y, config["n_fft"], config["hop_length"], config["win_length"]))
    spec, _ = compute_features(y, config)
    return spec_to_magnitude(spec, config)


def score(y, clip, config, spec_type):
    """(spectral convergence, LSD dB) of output ``y`` re-analysed against the clip's target."""
    est = analyse(y, config, spec_type)
    return spectral_convergence(clip["target"], est), log_spectral_distance(clip["target"], est)


def _declipped(mag, config, caps):
    if caps is None:
        return mag
    return declip(mag, config["win_length"], config["n_fft"], max_excess_db=caps[0],
                  fallback_db=caps[1])[0]


def run_pghi(clips, config, spec_type, caps, tol_db, n_grid=(0,)):
    """PGHI (then FGLA) on every clip: {N: {sc, lsd, seconds}} for each N of ``n_grid``.

    The wall time of count N is declipping, PGHI, the first N iterations and the
    final inverse STFT (scoring excluded).
    """
    hop, n_fft, win = config["hop_length"], config["n_fft"], config["win_length"]
    acc = {n: {"sc": [], "lsd": [], "seconds": 0.0} for n in n_grid}
    for clip in clips:
        t0 = time.perf_counter()
        mag = _declipped(np.asarray(clip["target"], np.float64), config, caps)
        phase = pghi_phase(mag, hop, n_fft, win, tol_db=tol_db)
        elapsed = time.perf_counter() - t0
        angles, done = np.exp(1j * phase), 0
        steps = fgla_steps(mag, phase, hop, n_fft, win)
        for n in sorted(n_grid):
            t0 = time.perf_counter()
            for angles in itertools.islice(steps, n - done):
                pass
            elapsed += time.perf_counter() - t0
            done = n
            t0 = time.perf_counter()  # the final synthesis counts, as in pghi()
            y = istft(mag * angles, hop, win, n_fft, length=len(clip["x"])).astype(np.float32)
            acc[n]["seconds"] += elapsed + time.perf_counter() - t0
            sc, lsd = score(y, clip, config, spec_type)
            acc[n]["sc"].append(sc)
            acc[n]["lsd"].append(lsd)
    return {n: _summary(a["sc"], a["lsd"], a["seconds"]) for n, a in acc.items()}


def run_gl(clips, config, spec_type, n_iter):
    """Fast Griffin-Lim (random start, ``dsp.spectral.griffin_lim``) on every clip."""
    sc, lsd, seconds = [], [], 0.0
    for clip in clips:
        t0 = time.perf_counter()
        y = griffin_lim(clip["target"], n_iter, config["hop_length"], config["win_length"],
                        config["n_fft"], length=len(clip["x"]))
        seconds += time.perf_counter() - t0
        s, d = score(y, clip, config, spec_type)
        sc.append(s)
        lsd.append(d)
    return _summary(sc, lsd, seconds)


def _summary(sc, lsd, seconds):
    return {"sc": round(float(np.mean(sc)), 4), "lsd_db": round(float(np.mean(lsd)), 3),
            "seconds": round(seconds, 2)}


def choose_n(curve, gl100):
    """The iteration count by rule 3 of the module docstring.

    Args:
        curve: {N: {sc, seconds}}; gl100: {sc, seconds} of GL-100 on the same clips.

    Returns:
        int N.
    """
    cheap = [n for n in sorted(curve) if curve[n]["seconds"] <= 0.5 * gl100["seconds"]]
    cheap = cheap or sorted(curve)[:2]
    best = min(curve[n]["sc"] for n in cheap)
    return next((n for n in cheap if n >= 2 and curve[n]["sc"] <= 1.02 * best), cheap[-1])


def tune(clips, config, spec_type, log=print):
    """Rules 1-3 on ``clips``; returns the JSON-able record of every measurement."""
    rec = {"declip": {}, "tol_db": {}, "gl": {}}
    warm = clips[0]["target"][:20]  # numba compilation and FFT plans outside the timings
    run_pghi([{"x": np.zeros(19 * config["hop_length"]), "target": warm}], config, spec_type,
             None, 100.0, (0, 1))
    run_gl([{"x": np.zeros(19 * config["hop_length"]), "target": warm}], config, spec_type, 1)
    for caps in DECLIP_GRID if spec_type == "normalized_db" else [None]:
        key = "off" if caps is None else f"{caps[0]:g}/{caps[1]:g}"
        rec["declip"][key] = run_pghi(clips, config, spec_type, caps, 100.0)[0]
        log(f"  declip {key:>6} (tol 100): {rec['declip'][key]}")
    best_key = min(rec["declip"], key=lambda k: rec["declip"][k]["sc"])
    caps = None if best_key == "off" else tuple(float(v) for v in best_key.split("/"))
    for tol in TOLS:
        rec["tol_db"][f"{tol:g}"] = run_pghi(clips, config, spec_type, caps, tol)[0]
        log(f"  tol_db {tol:>5g}: {rec['tol_db'][f'{tol:g}']}")
    lowest = min(r["sc"] for r in rec["tol_db"].values())
    tol = max(t for t in TOLS if rec["tol_db"][f"{t:g}"]["sc"] <= 1.005 * lowest)
    for n in GL_ITERS:
        rec["gl"][f"gl{n}"] = run_gl(clips, config, spec_type, n)
        log(f"  gl{n}: {rec['gl'][f'gl{n}']}")
    curve = run_pghi(clips, config, spec_type, caps, tol, N_GRID)
    for n in N_GRID:
        log(f"  pghi + fgla {n:>2}: {curve[n]}")
    rec["fgla"] = {str(n): r for n, r in curve.items()}
    rec["chosen"] = {"declip": caps is not None, "max_excess_db": caps[0] if caps else None,
                     "fallback_db": caps[1] if caps else None, "tol_db": tol,
                     "fgla_iter": choose_n(curve, rec["gl"]["gl100"])}
    return rec


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnnvocoder.tune_phase",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--part", choices=PARTS, default="train",
                   help="part of the fixed LJSpeech split (cnnvocoder.ljspeech_split)")
    p.add_argument("--wav_dir", default=None, help="tune on these recordings instead of --part")
    p.add_argument("--max_files", type=int, default=None)
    p.add_argument("--spec_type", choices=("normalized_db", "magnitude"), default="normalized_db")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="STFT settings")
    p.add_argument("--json_out", default="bench/results/phase_tuning.json")
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    config = preset_config(args.preset)
    paths = list_wavs(args.wav_dir) if args.wav_dir else split_part(args.part)
    if not paths:
        raise InputError(f"{args.wav_dir}: no audio files")
    paths = paths[:args.max_files] if args.max_files else paths
    clips = load_clips(paths, config, args.spec_type)
    seconds = sum(len(c["x"]) for c in clips) / config["sr"]
    print(f"{len(clips)} clips ({args.wav_dir or args.part}), {seconds:.1f} s, input "
          f"{args.spec_type}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rec = tune(clips, config, args.spec_type)
    rec["meta"] = {"files": [c["name"] for c in clips], "audio_seconds": round(seconds, 2),
                   "spec_type": args.spec_type, "load_average": os.getloadavg()[0],
                   "cpu_count": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}
    if args.json_out:
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json_out, rec)
    print(json.dumps(rec["chosen"]))


if __name__ == "__main__":
    main()
