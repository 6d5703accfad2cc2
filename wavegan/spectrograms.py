"""SpecGAN and TiFGAN features: 128 x 128 log-magnitude images of 8192 samples, and their inversion.

Both live on the same grid at 8 kHz: FFT size 256, hop 64, frames centred on
``t * 64`` (``dsp.spectral.stft``, reflect padding), the first 128 frames kept
(the 129th would be centred on the last sample) and the Nyquist bin dropped
(bins 0 .. 127, 0 - 3969 Hz): 8192 samples -> ``[128 frames, 128 bins]``,
time-major like a Keras ``[batch, time, channels]`` tensor (the models add a
channel axis: ``[batch, 128, 128, 1]``).

* **SpecGAN** (Donahue et al. 2019): Hann window of 256 (32 ms; the paper's
  16 ms at 16 kHz is the same 256 samples), ``log(|X| + 1e-6)`` normalised per
  frequency with the training set's mean and standard deviation, divided by 3
  (three standard deviations) and clipped to [-1, 1]. The 2 x 128 statistics
  are computed by `specgan_stats` on the training audio and stored in the
  model's configuration (``spec_mean``, ``spec_std``).
* **TiFGAN** (Marafioti et al. 2019): the consistent setting, a Gaussian window
  ``g(t) = exp(-pi t^2 / lam)`` with ``lam = a M = 64 * 256`` samples^2 (the
  time-frequency ratio of the grid: redundancy M / a = 4), FIR-truncated to
  M = 256 taps (it ends at exp(-pi) = 4.3 % of its peak; a = 64, so the sampled
  STFT stays consistent to that accuracy). Each clip's magnitude is divided by
  its maximum, the natural log clipped at -10 and scaled to [-1, 1]
  (``log / 5 + 1``). That discards the level, so the model stores one number of its
  training set, ``tif_peak`` (`tifgan_peak`: the median of the clips' peak
  magnitudes), and `to_magnitude` restores generated images to it: without it the
  output would sit about 23 dB below the training clips.

Inversion to audio: Griffin-Lim (``griffinlim``, SpecGAN's published choice,
librosa's fast GLA for the Hann window; for the Gaussian window the same
iterations on ``dsp.spectral``'s STFT) or phase-gradient heap integration
(``pghi``, ``dsp.pghi``: for the Gaussian window with its exact ``lam``;
coefficients at TiFGAN's -10 floor get random phase). The dropped Nyquist bin
and 129th frame are restored as zeros. numpy only.
"""
import numpy as np

from dsp.pghi import pghi, pghi_phase
from dsp.spectral import griffin_lim, istft, stft

N_FFT = 256          # M, FFT size and window length
HOP = 64             # a
FRAMES = 128
BINS = 128           # n_fft // 2 bins, Nyquist dropped
LENGTH = 8192        # samples that give FRAMES frames
GAUSS_LAMBDA = float(HOP * N_FFT)  # lam in samples^2 (time-frequency ratio a M / L, times L)
SPEC_EPS = 1e-6      # SpecGAN's log offset
SPEC_CLIP_STD = 3.0  # SpecGAN: normalised values / 3, clipped to [-1, 1]
TIF_FLOOR = -10.0    # TiFGAN: natural-log floor relative to the clip's maximum
INVERSIONS = ("griffinlim", "pghi")


def gaussian_window(n=N_FFT, lam=GAUSS_LAMBDA):
    """Gaussian window ``exp(-pi (k - n/2)^2 / lam)``, k = 0 .. n-1: centred like a periodic Hann.

    Returns:
        float64 [n], peak 1 at k = n / 2.
    """
    k = np.arange(n) - n / 2.0
    return np.exp(-np.pi * k ** 2 / lam)


def window_for(kind):
    """The analysis window of a feature kind: "hann" (SpecGAN) or the Gaussian array (TiFGAN)."""
    if kind == "specgan":
        return "hann"
    if kind == "tifgan":
        return gaussian_window()
    raise ValueError(f"unknown spectrogram kind {kind!r} (specgan or tifgan)")


def magnitude(audio, kind):
    """STFT magnitude on the 128 x 128 grid.

    Args:
        audio: float [..., 8192] (longer or shorter input gives other frame counts; the
            first 128 frames are kept, missing frames are zeros).
        kind: "specgan" (Hann) or "tifgan" (Gaussian).
    Returns:
        float32 [..., 128 frames, 128 bins].
    """
    x = np.asarray(audio, dtype=np.float32)
    spec = stft(x, N_FFT, HOP, window=window_for(kind), n_frames=FRAMES)
    return np.abs(spec[..., :BINS]).astype(np.float32)


def specgan_stats(audio, batch=256):
    """Per-frequency mean and standard deviation of SpecGAN's log-magnitude over a data set.

    Args:
        audio: float [n, 8192], the training clips.
        batch: clips analysed at a time (bounds the memory).
    Returns:
        (mean, std): float32 [128] each (std at least 1e-3, so silent bins stay finite).
    """
    total = np.zeros(BINS)
    total_sq = np.zeros(BINS)
    count = 0
    for start in range(0, len(audio), batch):
        log_mag = np.log(magnitude(audio[start:start + batch], "specgan") + SPEC_EPS)
        total += log_mag.sum(axis=(0, 1))
        total_sq += np.square(log_mag.astype(np.float64)).sum(axis=(0, 1))
        count += log_mag.shape[0] * log_mag.shape[1]
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(total_sq / max(count, 1) - mean ** 2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


def tifgan_peak(audio, batch=256):
    """TiFGAN's reference level: the median over clips of each clip's peak STFT magnitude.

    Args:
        audio: float [n, 8192], the training clips.
        batch: clips analysed at a time (bounds the memory).
    Returns:
        float, the level `to_magnitude` gives a generated image's peak.
    """
    peaks = [magnitude(audio[start:start + batch], "tifgan").max(axis=(-2, -1))
             for start in range(0, len(audio), batch)]
    return float(np.median(np.concatenate(peaks))) if peaks else 1.0


def config_stats(config):
    """The training-set statistics a model's images need: SpecGAN's (mean, std), TiFGAN's peak.

    Args:
        config: a `wavegan.train` configuration (``model``; ``spec_mean``/``spec_std`` or
            ``tif_peak``; models trained before ``tif_peak`` existed get peak 1).
    Returns:
        (mean, std), a float, or None (WaveGAN, or TiFGAN without ``tif_peak``).
    """
    if config["model"] == "specgan":
        return config["spec_mean"], config["spec_std"]
    if config["model"] == "tifgan":
        return config.get("tif_peak")
    return None


def to_features(audio, kind, stats=None):
    """Audio to the GAN's image in [-1, 1].

    Args:
        audio: float [n, 8192].
        kind: "specgan" or "tifgan".
        stats: (mean, std) [128] each from `specgan_stats` (SpecGAN only).
    Returns:
        float32 [n, 128, 128] (frames, bins).
    """
    mag = magnitude(audio, kind)
    if kind == "specgan":
        if stats is None:
            raise ValueError("SpecGAN features need the training set's (mean, std)")
        mean, std = (np.asarray(s, dtype=np.float32) for s in stats)
        norm = (np.log(mag + SPEC_EPS) - mean) / std / SPEC_CLIP_STD
    else:
        peak = mag.max(axis=(-2, -1), keepdims=True)
        log_mag = np.log(np.maximum(mag, 1e-30) / np.maximum(peak, 1e-30))
        norm = np.maximum(log_mag, TIF_FLOOR) / (-TIF_FLOOR / 2.0) + 1.0
    return np.clip(norm, -1.0, 1.0).astype(np.float32)


def to_magnitude(features, kind, stats=None):
    """The linear magnitude an image stands for (inverse of `to_features` up to its clipping).

    Args:
        features: float [..., 128, 128] in [-1, 1].
        kind: "specgan" or "tifgan".
        stats: SpecGAN's (mean, std); TiFGAN's reference peak (`tifgan_peak`; None: 1).
    Returns:
        float64 [..., 128, 128]; TiFGAN's peak is `stats` (or 1).
    """
    f = np.clip(np.asarray(features, dtype=np.float64), -1.0, 1.0)
    if kind == "specgan":
        if stats is None:
            raise ValueError("SpecGAN features need the training set's (mean, std)")
        mean, std = (np.asarray(s, dtype=np.float64) for s in stats)
        return np.maximum(np.exp(f * SPEC_CLIP_STD * std + mean) - SPEC_EPS, 0.0)
    peak = 1.0 if stats is None else float(stats)
    return peak * np.exp((f - 1.0) * (-TIF_FLOOR / 2.0))


def _full_grid(mag):
    """[128, 128] -> [129 frames, 129 bins]: the dropped Nyquist bin and last frame as zeros."""
    return np.pad(mag, [(0, 1), (0, 1)])


def _gla_gaussian(mag, n_iter, seed, phase=None, momentum=0.99):
    """Fast Griffin-Lim with the Gaussian window (librosa's is Hann only); [129, 129] -> [8192]."""
    window = gaussian_window()
    rng = np.random.default_rng(seed)
    angles = np.exp(1j * (rng.uniform(-np.pi, np.pi, mag.shape) if phase is None else phase))
    previous = np.zeros_like(angles)
    for _ in range(n_iter):
        y = istft(mag * angles, HOP, N_FFT, N_FFT, window=window, length=LENGTH)
        rebuilt = stft(y, N_FFT, HOP, window=window, n_frames=mag.shape[0])
        angles = rebuilt - (momentum / (1.0 + momentum)) * previous
        angles /= np.abs(angles) + 1e-16
        previous = rebuilt
    return istft(mag * angles, HOP, N_FFT, N_FFT, window=window, length=LENGTH)


def invert(features, kind, stats=None, inversion="pghi", n_iter=100, seed=0):
    """Audio from one GAN image.

    Args:
        features: float [128, 128] (frames, bins) in [-1, 1].
        kind: "specgan" or "tifgan".
        stats: SpecGAN's (mean, std); TiFGAN's reference peak (or None).
        inversion: "griffinlim" (fast Griffin-Lim, `n_iter` iterations from a random phase)
            or "pghi" (no iterations).
        seed: seed of the random initial phase (Griffin-Lim) or of the phase of
            silent coefficients (PGHI).
    Returns:
        float32 [8192], peak-limited to 1 (an inverted spectrogram has no level guarantee).
    """
    if inversion not in INVERSIONS:
        raise ValueError(f"unknown inversion {inversion!r} (one of {', '.join(INVERSIONS)})")
    mag = _full_grid(to_magnitude(features, kind, stats))
    if kind == "specgan" and inversion == "griffinlim":
        y = griffin_lim(mag, n_iter=n_iter, hop_length=HOP, n_fft=N_FFT, length=LENGTH,
                        seed=seed)
    elif kind == "specgan":
        y = pghi(mag, hop_length=HOP, n_fft=N_FFT, length=LENGTH, seed=seed)
    elif inversion == "griffinlim":
        y = _gla_gaussian(mag, n_iter, seed)
    else:
        # silence below TiFGAN's floor: those coefficients get random phase
        phase = pghi_phase(mag, HOP, N_FFT, lam=GAUSS_LAMBDA, tol_db=-TIF_FLOOR * 20 / np.log(10) - 0.1,
                           seed=seed)
        y = istft(mag * np.exp(1j * phase), HOP, N_FFT, N_FFT, window=gaussian_window(),
                  length=LENGTH)
    y = np.asarray(y, dtype=np.float32)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return y / peak if peak > 1.0 else y


def invert_batch(features, kind, stats=None, inversion="pghi", n_iter=100, seed=0):
    """`invert` over a batch: float [n, 128, 128] (or [n, 128, 128, 1]) -> float32 [n, 8192].

    Clip k uses seed ``seed + k``.
    """
    f = np.asarray(features)
    if f.ndim == 4:
        f = f[..., 0]
    out = [invert(f[k], kind, stats, inversion, n_iter, seed + k) for k in range(len(f))]
    return np.stack(out).astype(np.float32) if out else np.zeros((0, LENGTH), np.float32)
