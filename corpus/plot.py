"""Figure of a synthetic utterance with its ground truth.

Panels: waveform with the glottal closure instants; spectrogram with the true
F0 (x 1, 2, 3 harmonics, white) and the formants of the true all-pole filter
(peaks of 1/|A|, red); the envelope 1/|A| of one voiced frame over the
frame's spectrum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dsp.audio import atomic_output, load_audio
from dsp.lpc import lpc_envelope
from dsp.spectral import amplitude_to_db, stft


def plot_utterance(wav_path, truth_path, png_path, title: str | None = None) -> Path:
    """Write ``png_path`` for one utterance of a synthetic corpus; returns the path."""
    # Start-up time: matplotlib costs ~1 s to import and only --plot draws this
    # figure, so `python -m corpus.make_synthetic` without it does not pay that.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, sr = load_audio(wav_path)
    truth = np.load(truth_path)
    hop = int(truth["frame_hop"])
    f0, voiced, gci, lpc = truth["f0"], truth["voiced"], truth["gci"], truth["lpc"]
    n_fft = 1024 if sr >= 16000 else 512
    spec = np.abs(stft(x, n_fft=n_fft, hop_length=hop, win_length=int(0.025 * sr)))[: len(f0)]
    db = amplitude_to_db(spec / spec.max())
    t = np.arange(len(f0)) * hop / sr
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)

    fig, axes = plt.subplots(3, 1, figsize=(11, 9), gridspec_kw={"height_ratios": [1, 2.2, 1.4]})
    ax = axes[0]
    ax.plot(np.arange(len(x)) / sr, x, lw=0.5, color="k")
    ax.plot(gci / sr, x[gci], "|", color="tab:red", ms=8, label="GCI (truth)")
    ax.set_xlim(0, len(x) / sr)
    ax.set_ylabel("amplitude")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or Path(wav_path).stem)

    ax = axes[1]
    ax.imshow(db.T, origin="lower", aspect="auto", cmap="magma", vmin=-90, vmax=0,
              extent=(0, t[-1] + hop / sr, 0, sr / 2))
    f0_masked = np.where(voiced, f0, np.nan)
    for h in (1, 2, 3):
        ax.plot(t, h * f0_masked, color="w", lw=0.8, label="F0 x 1,2,3 (truth)" if h == 1 else None)
    # formants = angles of the complex poles of the true filter
    roots = np.stack([np.roots(a) for a in lpc[::4]])
    ang = np.angle(roots) * sr / (2 * np.pi)
    ang = np.where(ang > 0, ang, np.nan)
    ax.plot(t[::4], ang, ".", color="tab:red", ms=1.5)
    ax.plot([], [], ".", color="tab:red", label="poles of true A(z)")
    ax.set_ylabel("Hz")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[2]
    idx = np.flatnonzero(voiced)
    frame = int(idx[len(idx) // 2]) if len(idx) else len(f0) // 2
    env_db = 20 * np.log10(lpc_envelope(lpc[frame], n_fft))  # 1/|A| at the STFT's bins
    ax.plot(freqs, db[frame], lw=0.7, color="k", label=f"|X| frame {frame} (t={t[frame]:.2f}s)")
    ax.plot(freqs, env_db - env_db.max() + db[frame].max(), color="tab:red", label="1/|A| (truth, shifted)")
    ax.set_xlim(0, sr / 2)
    ax.set_ylim(-100, 5)
    ax.set_xlabel("Hz")
    ax.set_ylabel("dB")
    ax.legend(loc="upper right", fontsize=8)
    axes[1].set_xlabel("s")
    fig.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(png_path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return png_path
