"""ResGAN figures: pulse waveforms and spectra during training, loss curves.

All functions write PNGs atomically (temp file + rename) with the Agg backend.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, path)


def pulse_spectrum_db(pulses, n_fft=800):
    """Magnitude spectrum in dB of pulses ``[..., 400]`` -> ``[..., n_fft//2+1]``."""
    mag = np.abs(np.fft.rfft(np.asarray(pulses, np.float64), n=n_fft, axis=-1))
    return 20.0 * np.log10(np.maximum(mag, 1e-6))


def plot_pulses(path, curves, title, sr=SAMPLE_RATE):
    """One row per frame: waveform (left) and spectrum in dB (right).

    Args:
        path: PNG path.
        curves: dict ``label -> [n_rows, 400]`` (e.g. reference, pulse model, GAN).
        title: figure title.
    """
    plt = _plt()
    n_rows = next(iter(curves.values())).shape[0]
    fig, axes = plt.subplots(n_rows, 2, figsize=(11, 2.4 * n_rows), squeeze=False)
    freqs = np.fft.rfftfreq(800, 1.0 / sr) / 1000.0
    t = (np.arange(400) - 200) / sr * 1000.0
    for i in range(n_rows):
        for label, data in curves.items():
            axes[i, 0].plot(t, data[i], lw=0.9, label=label)
            axes[i, 1].plot(freqs, pulse_spectrum_db(data[i]), lw=0.8, label=label)
        axes[i, 0].set_ylabel(f"frame {i}")
        axes[i, 1].axvline(4.0, color="grey", ls=":", lw=0.8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time from pulse centre (ms)")
    axes[-1, 1].set_xlabel("frequency (kHz); dotted: 4 kHz band split")
    axes[0, 0].set_title("waveform")
    axes[0, 1].set_title("magnitude spectrum (dB)")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_losses(path, csv_path, keys, title):
    """Loss curves (per epoch) from a CSVLogger-style file."""
    if not Path(csv_path).is_file():
        return
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for key in keys:
        if key in rows[0] and rows[0][key] not in ("", None):
            ax.plot(epochs, [float(r[key]) for r in rows], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_speech(path, signals, sr=SAMPLE_RATE, title=""):
    """Spectrograms of several signals (``label -> [n]``) one above the other."""
    plt = _plt()
    fig, axes = plt.subplots(len(signals), 1, figsize=(10, 2.2 * len(signals)), squeeze=False)
    for ax, (label, x) in zip(axes[:, 0], signals.items()):
        ax.specgram(np.asarray(x, np.float64) + 1e-9, NFFT=512, Fs=sr, noverlap=384,
                    cmap="magma", vmin=-120)
        ax.set_ylabel("Hz")
        ax.set_title(label, fontsize=9)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
