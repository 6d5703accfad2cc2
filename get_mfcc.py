#!/usr/bin/env python
"""MFCC -> all-pole envelope analysis of a speech file (ResGAN's get_mfcc.py).

Writes the line spectral frequencies (n_frames x lsf_order) and the MFCCs
(n_frames x mfcc_order, c0 = frame energy in dB) as raw row-major float32
files without a header, one row per 5 ms frame (hop 80 at 16 kHz), with
n_frames = ceil(n_samples / hop).  Read them back with
    np.fromfile("file.lsf", dtype=np.float32).reshape(-1, 30)

Example:
    python get_mfcc.py --input_file=file.wav --lsf_file=file.lsf \
        --mfcc_file=file.mfcc --plot file.png

This tool does not import Keras or TensorFlow: it starts in about a second.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from dsp.audio import InputError, atomic_output, cli_main, load_audio
from dsp.mfcc import MfccConfig, analyze, lsf_to_envelope


def build_parser():
    p = argparse.ArgumentParser(
        description="Compute MFCCs and the all-pole envelope (LSFs) of a wav file, "
                    "as in ResGAN (ICASSP 2018).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--input_file", required=True,
                   help="input audio file (mono or stereo, any rate; stereo is "
                        "downmixed and other rates resampled, with a notice)")
    p.add_argument("--lsf_file", help="output: LSFs, raw float32 (n_frames x lsf_order)")
    p.add_argument("--mfcc_file", help="output: MFCCs, raw float32 (n_frames x mfcc_order)")
    p.add_argument("--sample_rate", type=int, default=16000, help="analysis rate in Hz")
    p.add_argument("--win_length", type=int, default=480, help="window length in samples")
    p.add_argument("--hop_size", type=int, default=80, help="frame hop in samples")
    p.add_argument("--lsf_order", type=int, default=30, help="all-pole order (even)")
    p.add_argument("--mel_filters", type=int, default=24, help="number of HTK-mel filters")
    p.add_argument("--mfcc_order", type=int, default=20, help="number of MFCCs kept")
    p.add_argument("--nfft", type=int, default=1024, help="FFT size")
    p.add_argument("--preemphasis", type=float, default=0.97, help="pre-emphasis coefficient")
    p.add_argument("--plot", metavar="PNG",
                   help="also write a figure: spectrogram with the all-pole envelope "
                        "of a few frames, and the LSF tracks")
    return p


def plot_analysis(path, x, cfg, result):
    """Spectrogram, LSF tracks and the envelope of 4 voiced frames (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dsp.mfcc import mfcc_to_envelope

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
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    cfg = MfccConfig(sample_rate=args.sample_rate, win_length=args.win_length,
                     hop_size=args.hop_size, lsf_order=args.lsf_order,
                     mel_filters=args.mel_filters, mfcc_order=args.mfcc_order,
                     nfft=args.nfft, preemphasis=args.preemphasis).validate()
    outputs = [p for p in (args.lsf_file, args.mfcc_file, args.plot) if p]
    if not outputs:
        raise InputError("nothing to do: give --lsf_file, --mfcc_file and/or --plot")
    for out in outputs:  # fail before any work if an output cannot be written
        parent = Path(out).parent
        if not parent.is_dir():
            raise InputError(f"{out}: output folder {parent} does not exist")
    x, _ = load_audio(args.input_file, sr=cfg.sample_rate, min_samples=cfg.hop_size)
    result = analyze(x, cfg)
    if not (np.all(np.isfinite(result.lsf)) and np.all(np.isfinite(result.mfcc))):
        raise InputError(f"{args.input_file}: analysis produced non-finite values")
    written = []
    try:
        if args.lsf_file:
            with atomic_output(args.lsf_file) as tmp:
                result.lsf.astype("<f4").tofile(tmp)
            written.append(args.lsf_file)
        if args.mfcc_file:
            with atomic_output(args.mfcc_file) as tmp:
                result.mfcc.astype("<f4").tofile(tmp)
            written.append(args.mfcc_file)
        if args.plot:
            plot_analysis(args.plot, x, cfg, result)
    except BaseException:
        for path in written:  # all outputs or none
            Path(path).unlink(missing_ok=True)
        raise
    print(f"{args.input_file}: {result.lsf.shape[0]} frames -> "
          + ", ".join(outputs), file=sys.stderr)


if __name__ == "__main__":
    main()
