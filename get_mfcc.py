#!/usr/bin/env python
"""MFCC -> all-pole envelope analysis of speech files (ResGAN's get_mfcc.py).

Writes the line spectral frequencies (n_frames x lsf_order) and the MFCCs
(n_frames x mfcc_order, c0 = frame energy in dB) as raw row-major float32
files without a header, one row per 5 ms frame (hop 80 at 16 kHz), with
n_frames = ceil(n_samples / hop).  Read them back with
    np.fromfile("file.lsf", dtype=np.float32).reshape(-1, 30)

One file:
    python get_mfcc.py --input_file=file.wav --lsf_file=file.lsf \
        --mfcc_file=file.mfcc --plot file.png
A folder, in one process with a progress bar (every <name>.wav of DIR, not
recursive, gives OUT/<name>.lsf and OUT/<name>.mfcc):
    python get_mfcc.py --input_dir DIR --output_dir OUT

Bad input prints one `error:` line naming the file and exits 1 without
writing anything (a folder's outputs appear all together at the end, or not
at all); with --skip_bad a folder run skips bad files instead (one `skipped:`
line each) and writes the others.

This tool imports numpy, soundfile and the numpy-only half of dsp: it starts
in about the time of `import numpy` (no scipy, no matplotlib unless --plot,
no tqdm unless --input_dir, no Keras).
"""
import argparse
import contextlib
import sys
import time
from pathlib import Path

import numpy as np

from dsp.audio import InputError, atomic_output, cli_main, load_audio
from dsp.mfcc import MfccConfig, analyze, mfcc_to_envelope


def build_parser():
    p = argparse.ArgumentParser(
        description="Compute MFCCs and the all-pole envelope (LSFs) of a wav file or a "
                    "folder of wav files, as in ResGAN (ICASSP 2018).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input_file",
                     help="input audio file (mono or stereo, any rate; stereo is "
                          "downmixed and other rates resampled, with a notice)")
    src.add_argument("--input_dir", metavar="DIR",
                     help="analyse every *.wav of this folder (not recursive) in one "
                          "process; needs --output_dir")
    p.add_argument("--lsf_file", help="output: LSFs, raw float32 (n_frames x lsf_order)")
    p.add_argument("--mfcc_file", help="output: MFCCs, raw float32 (n_frames x mfcc_order)")
    p.add_argument("--plot", metavar="PNG",
                   help="also write a figure: spectrogram with the all-pole envelope "
                        "of a few frames, and the LSF tracks (with --input_file)")
    p.add_argument("--output_dir", metavar="DIR",
                   help="with --input_dir: write <name>.lsf and <name>.mfcc here "
                        "(created if missing)")
    p.add_argument("--skip_bad", action="store_true",
                   help="with --input_dir: skip unreadable files (one 'skipped:' line "
                        "each) instead of stopping with nothing written")
    p.add_argument("--sample_rate", type=int, default=16000, help="analysis rate in Hz")
    p.add_argument("--win_length", type=int, default=480, help="window length in samples")
    p.add_argument("--hop_size", type=int, default=80, help="frame hop in samples")
    p.add_argument("--lsf_order", type=int, default=30, help="all-pole order (even)")
    p.add_argument("--mel_filters", type=int, default=24, help="number of HTK-mel filters")
    p.add_argument("--mfcc_order", type=int, default=20, help="number of MFCCs kept")
    p.add_argument("--nfft", type=int, default=1024, help="FFT size")
    p.add_argument("--preemphasis", type=float, default=0.97, help="pre-emphasis coefficient")
    return p


def plot_analysis(path, cfg, result):
    """Spectrogram, LSF tracks and the envelope of 4 voiced frames (PNG at `path`)."""
    # Start-up time: matplotlib costs ~1 s to import and only --plot needs it.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mag_db = 20 * np.log10(np.maximum(result.magnitude, 1e-9))
    n_frames = mag_db.shape[0]
    t = np.arange(n_frames) * cfg.hop_size / cfg.sample_rate
    freqs = np.arange(mag_db.shape[1]) * cfg.sample_rate / cfg.nfft
    # show frames with the most energy below 1 kHz (voiced), spread over the file
    low = np.sum(result.magnitude[:, freqs < 1000] ** 2, axis=1)
    picks = []
    for i in np.argsort(low)[::-1]:
        if all(abs(i - j) > n_frames // 8 for j in picks):
            picks.append(int(i))
        if len(picks) == 4:
            break
    picks.sort()
    # envelope at the frame's energy (c0), so it sits on the spectrum's level
    env_db = 20 * np.log10(mfcc_to_envelope(result.mfcc[picks].astype(np.float64), cfg))
    fig = plt.figure(figsize=(12, 10), constrained_layout=True)
    grid = fig.add_gridspec(3, 4, height_ratios=[1.2, 1, 1])
    ax = fig.add_subplot(grid[0, :])
    ax.pcolormesh(t, freqs / 1000, mag_db.T, shading="auto", cmap="magma",
                  vmin=mag_db.max() - 90, vmax=mag_db.max())
    for i in picks:
        ax.axvline(t[i], color="white", ls="--", lw=0.8)
    ax.set(ylabel="frequency (kHz)",
           title=f"{cfg.sample_rate} Hz, pre-emphasised |STFT| (dB); dashed: frames below")
    ax2 = fig.add_subplot(grid[1, :], sharex=ax)
    ax2.plot(t, result.lsf / np.pi * cfg.sample_rate / 2000, color="tab:blue", lw=0.6)
    ax2.set(xlabel="time (s)", ylabel="frequency (kHz)", ylim=(0, cfg.sample_rate / 2000),
            title=f"{cfg.lsf_order} line spectral frequencies")
    for k, i in enumerate(picks):
        a = fig.add_subplot(grid[2, k])
        spec = mag_db[i]
        a.plot(freqs / 1000, spec, lw=0.7, label="|X|")
        a.plot(freqs / 1000, env_db[k], lw=1.5, label="all-pole envelope")
        a.set(xlabel="kHz", title=f"frame {i} ({t[i]:.2f} s)",
              ylim=(spec.max() - 80, spec.max() + 10))
        if k == 0:
            a.set_ylabel("dB")
            a.legend(fontsize=8)
    fig.savefig(path, dpi=100, format="png")
    plt.close(fig)


def config_from(args):
    """The MfccConfig of the command line (ValueError on inconsistent flags)."""
    return MfccConfig(sample_rate=args.sample_rate, win_length=args.win_length,
                      hop_size=args.hop_size, lsf_order=args.lsf_order,
                      mel_filters=args.mel_filters, mfcc_order=args.mfcc_order,
                      nfft=args.nfft, preemphasis=args.preemphasis).validate()


def analyse(path, cfg):
    """Load and analyse one file; InputError naming the file on any bad input."""
    x, _ = load_audio(path, sr=cfg.sample_rate, min_samples=cfg.hop_size)
    result = analyze(x, cfg)
    if not (np.all(np.isfinite(result.lsf)) and np.all(np.isfinite(result.mfcc))):
        raise InputError(f"{path}: analysis produced non-finite values")
    return result


def write_features(stack, result, lsf_path=None, mfcc_path=None):
    """Write the LSF and MFCC files under temporary names registered on `stack`.

    They get their final names together when the ExitStack closes without an
    error, and are removed if it closes with one: all outputs or none.
    """
    for path, values in ((lsf_path, result.lsf), (mfcc_path, result.mfcc)):
        if path:
            tmp = stack.enter_context(atomic_output(path))
            values.astype("<f4").tofile(tmp)


def run_file(args, cfg):
    """--input_file: the design's one-file interface."""
    if args.output_dir or args.skip_bad:
        raise InputError("--output_dir and --skip_bad go with --input_dir; with "
                         "--input_file give --lsf_file/--mfcc_file")
    outputs = [p for p in (args.lsf_file, args.mfcc_file, args.plot) if p]
    if not outputs:
        raise InputError("nothing to do: give --lsf_file, --mfcc_file and/or --plot")
    for out in outputs:  # fail before any work if an output cannot be written
        parent = Path(out).parent
        if not parent.is_dir():
            raise InputError(f"{out}: output folder {parent} does not exist")
    result = analyse(args.input_file, cfg)
    with contextlib.ExitStack() as stack:
        write_features(stack, result, args.lsf_file, args.mfcc_file)
        if args.plot:
            plot_analysis(stack.enter_context(atomic_output(args.plot)), cfg, result)
    print(f"{args.input_file}: {result.lsf.shape[0]} frames -> "
          + ", ".join(outputs), file=sys.stderr)


def folder_inputs(in_dir):
    """The *.wav files of a folder (not recursive), sorted; InputError if none."""
    in_dir = Path(in_dir)
    if not in_dir.is_dir():
        raise InputError(f"{in_dir}: input folder not found")
    wavs = sorted(p for p in in_dir.iterdir()
                  if p.suffix.lower() == ".wav" and not p.name.startswith(".") and p.is_file())
    if not wavs:
        raise InputError(f"{in_dir}: no .wav files in this folder")
    stems = [p.stem for p in wavs]
    clash = sorted({s for s in stems if stems.count(s) > 1})
    if clash:
        raise InputError(f"{in_dir}: several files would write {clash[0]}.lsf "
                         f"(same name, different case of .wav)")
    return wavs


def run_folder(args, cfg):
    """--input_dir/--output_dir: every wav of a folder in one process."""
    # Start-up time: tqdm costs 25-60 ms to import (importlib.metadata), a third
    # of what --help may take; only folder runs show a progress bar.
    from tqdm import tqdm

    if not args.output_dir:
        raise InputError("--input_dir needs --output_dir (where <name>.lsf/.mfcc go)")
    if args.lsf_file or args.mfcc_file or args.plot:
        raise InputError("--lsf_file/--mfcc_file/--plot name one file's outputs: use them "
                         "with --input_file (a folder run writes <name>.lsf/.mfcc)")
    wavs = folder_inputs(args.input_dir)
    out_dir = Path(args.output_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_frames, skipped = 0, []
    try:
        with contextlib.ExitStack() as stack:
            for wav in tqdm(wavs, desc="get_mfcc", unit="file", file=sys.stderr):
                try:
                    result = analyse(wav, cfg)
                except (InputError, ValueError, OSError) as exc:
                    message = str(exc) if str(wav) in str(exc) else f"{wav}: {exc}"
                    if not args.skip_bad:
                        raise InputError(message) from None
                    tqdm.write(f"skipped: {message}", file=sys.stderr)
                    skipped.append(wav)
                    continue
                write_features(stack, result, out_dir / f"{wav.stem}.lsf",
                               out_dir / f"{wav.stem}.mfcc")
                n_frames += result.lsf.shape[0]
            if len(skipped) == len(wavs):
                raise InputError(f"{args.input_dir}: none of the {len(wavs)} files could "
                                 f"be analysed")
    except BaseException:
        if created:  # leave no trace of a failed run
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise
    done = len(wavs) - len(skipped)
    print(f"{args.input_dir}: {done} files, {n_frames} frames -> {out_dir}/<name>.lsf, "
          f".mfcc in {time.perf_counter() - t0:.1f} s"
          + (f" ({len(skipped)} skipped)" if skipped else ""), file=sys.stderr)


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    cfg = config_from(args)
    if args.input_dir:
        run_folder(args, cfg)
    else:
        run_file(args, cfg)


if __name__ == "__main__":
    main()
