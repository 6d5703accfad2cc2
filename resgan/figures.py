"""ResGAN figures: pulses and losses during training, packaged utterances, speech.

All functions write PNGs atomically (``dsp.audio.atomic_output``) with the Agg backend.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dsp.audio import atomic_output
from resgan.constants import CENTRE, FRAME_HOP, PULSE_LENGTH, SAMPLE_RATE


def _plt():
    """matplotlib.pyplot with the Agg backend.

    Imported here, not at the top: matplotlib costs ~1 s and most processes
    that import this module (the CLIs, the tests) never draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")


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
    freqs = np.fft.rfftfreq(2 * PULSE_LENGTH, 1.0 / sr) / 1000.0
    t = (np.arange(PULSE_LENGTH) - CENTRE) / sr * 1000.0
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


def high_band_envelope_db(pulses, split_hz=4000.0, sr=SAMPLE_RATE, smooth=9):
    """Mean energy over frames of the pulses' band above ``split_hz``, per sample, in dB
    ``[400]`` (FFT high-pass, then a ``smooth``-sample moving average): where in the
    glottal cycle the high-frequency noise sits."""
    spec = np.fft.rfft(np.asarray(pulses, np.float64), axis=-1)
    spec[..., np.fft.rfftfreq(PULSE_LENGTH, 1.0 / sr) < split_hz] = 0.0
    hf = np.fft.irfft(spec, n=PULSE_LENGTH, axis=-1)
    energy = np.convolve(np.mean(hf ** 2, axis=0), np.ones(smooth) / smooth, mode="same")
    return 10.0 * np.log10(np.maximum(energy, 1e-12))


def plot_speaker_pulses(path, groups, title, sr=SAMPLE_RATE):
    """Real, pulse-model and GAN pulses of voiced frames, one row per speaker.

    Columns: one frame's waveforms; the mean 4-8 kHz energy along the pulse
    (does the noise follow the glottal cycle?); the long-term average spectrum.

    Args:
        path: PNG path.
        groups: ``{speaker: {label: [frames, 400]}}``, edge-windowed voiced pulses.
        title: figure title.
    """
    plt = _plt()
    fig, axes = plt.subplots(len(groups), 3, figsize=(14, 2.6 * len(groups)), squeeze=False)
    freqs = np.fft.rfftfreq(2 * PULSE_LENGTH, 1.0 / sr) / 1000.0
    t = (np.arange(PULSE_LENGTH) - CENTRE) / sr * 1000.0
    for row, (speaker, curves) in zip(axes, groups.items()):
        n = len(next(iter(curves.values())))
        for label, data in curves.items():
            row[0].plot(t, data[n // 2], lw=0.9, label=label)
            row[1].plot(t, high_band_envelope_db(data), lw=0.9, label=label)
            power = np.mean(np.abs(np.fft.rfft(np.asarray(data, np.float64), n=2 * PULSE_LENGTH, axis=-1)) ** 2, 0)
            row[2].plot(freqs, 10.0 * np.log10(np.maximum(power, 1e-12)), lw=0.9, label=label)
        row[0].set_ylabel(f"{speaker}\n({n} frames)")
        row[2].axvline(4.0, color="grey", ls=":", lw=0.8)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[0, 0].set_title("one voiced frame")
    axes[0, 1].set_title("mean 4-8 kHz energy along the pulse (dB)")
    axes[0, 2].set_title("long-term average spectrum (dB)")
    axes[-1, 0].set_xlabel("time from pulse centre (ms)")
    axes[-1, 1].set_xlabel("time from pulse centre (ms)")
    axes[-1, 2].set_xlabel("frequency (kHz)")
    fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_learning_curve(path, csv_path, title="pulse model on held-out frames"):
    """Held-out MSE of the pulse model per epoch against the no-input baselines
    (``resgan.baselines.LearningCurve`` columns), all frames and voiced frames."""
    if not Path(csv_path).is_file():
        return
    with open(csv_path) as f:
        rows = [r for r in csv.DictReader(f) if r.get("val_mse_pulse_all")]
    if not rows:
        return
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    epochs = [int(r["epoch"]) + 1 for r in rows]
    for ax, frames in zip(axes, ("voiced", "all")):
        ax.plot(epochs, [float(r[f"val_mse_pulse_{frames}"]) for r in rows], marker="o",
                label="pulse model")
        for key, style, label in (("zero", ":", "silence"), ("mean_pulse", "--", "training mean pulse")):
            col = f"val_mse_{key}_{frames}"
            if rows[-1].get(col):
                ax.axhline(float(rows[-1][col]), linestyle=style, color="k", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("waveform MSE")
        ax.set_title(f"{frames} frames")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
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


def plot_utterance(path, tag, x, feats, sr=SAMPLE_RATE, hop=FRAME_HOP):
    """Figure: speech and residual with GCIs (60 ms excerpt), F0 track, a few pulses.

    ``feats`` is a ``resgan.packaging.UtteranceFeatures`` (inputs, targets, f0,
    voiced, gci, residual).
    """
    plt = _plt()
    fig, axes = plt.subplots(3, 1, figsize=(11, 9))
    ax = axes[0]
    centre = int(feats.gci[len(feats.gci) // 2]) if feats.gci.size else len(x) // 2
    a, b = max(0, centre - int(0.03 * sr)), min(len(x), centre + int(0.03 * sr))
    t_ms = np.arange(a, b) / sr * 1000.0
    ax.plot(t_ms, x[a:b] / (np.abs(x[a:b]).max() + 1e-9), lw=1.0, label="speech")
    res = feats.residual[a:b]
    ax.plot(t_ms, res / (np.abs(res).max() + 1e-9) - 2.2, lw=0.8, color="C1", label="residual")
    for g in feats.gci[(feats.gci >= a) & (feats.gci < b)]:
        ax.axvline(g / sr * 1000.0, color="C3", lw=0.8, ls="--")
    ax.set_xlabel("time (ms)")
    ax.set_yticks([])
    ax.set_title(f"{tag}: speech and excitation residual, GCIs dashed (60 ms excerpt)")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[1]
    frames_s = np.arange(feats.f0.shape[0]) * hop / sr
    t = np.arange(len(x)) / sr
    ax.plot(t, x / (np.abs(x).max() + 1e-9) * 0.5 * max(feats.f0.max(), 100) + 0.5 * max(feats.f0.max(), 100),
            lw=0.3, color="0.7")
    f0 = np.where(feats.voiced, feats.f0, np.nan)
    ax.plot(frames_s, f0, color="C0", lw=1.5, label="F0 (voiced frames)")
    ax.plot(frames_s, np.exp(feats.inputs[:, 20]), color="C0", lw=0.6, ls=":",
            label="interpolated F0 (input column 20)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("Hz")
    ax.set_title(f"F0 track ({feats.gci.size} GCIs, {feats.voiced.mean() * 100:.0f} % voiced frames)")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[2]
    k = np.arange(PULSE_LENGTH) - CENTRE
    voiced_rows = np.flatnonzero(feats.voiced)
    for i, r in enumerate(voiced_rows[np.linspace(0, voiced_rows.size - 1, 4).astype(int)] if voiced_rows.size else []):
        ax.plot(k, feats.targets[r] + 0.0 * i, lw=1.0, label=f"voiced frame {r} (F0 {feats.f0[r]:.0f} Hz)")
    unvoiced_rows = np.flatnonzero(~feats.voiced & (np.abs(feats.targets).sum(1) > 0))
    if unvoiced_rows.size:
        r = unvoiced_rows[unvoiced_rows.size // 2]
        ax.plot(k, feats.targets[r], lw=0.6, color="0.5", label=f"unvoiced frame {r}")
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("sample relative to the pulse centre (index 200)")
    ax.set_title("target pulses (unit energy)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)
