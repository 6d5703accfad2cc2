"""Features of the separation pipeline (all from `dsp.spectral`).

Frames of hop 256 at 22.05 kHz, Hann window, n_fft 1024:
- linear: 20 log10(max(1e-5, |X|)) - 30, mapped by (S + 80) / 80, clipped to [0, 1],
  512 bins (the Nyquist bin dropped) -> `[frames, 512]`;
- mel: 80 Slaney bands 125-7600 Hz of |X|, 20 log10 - 20, (S + 100) / 100, clipped
  -> `[frames, 80]` (the vocoder's conditioning).
frames = 1 + len(x) // 256 (centred frames, like librosa).
"""
import numpy as np

from dsp import spectral

SR = 22050
N_FFT = 1024
HOP = 256
N_MELS = 80
FMIN, FMAX = 125.0, 7600.0
LIN_REF_DB, LIN_MIN_DB = 30.0, -80.0
MEL_REF_DB, MEL_MIN_DB = 20.0, -100.0


def n_frames(n_samples):
    """Number of feature frames for a signal of `n_samples`."""
    return 1 + int(n_samples) // HOP


def linear_features(x):
    """Normalised linear log spectrum `[frames, 512]` in [0, 1] (float32)."""
    return spectral.linear_log_spectrogram(
        np.asarray(x, np.float32), n_fft=N_FFT, hop_length=HOP, ref_level_db=LIN_REF_DB,
        min_level_db=LIN_MIN_DB, drop_nyquist=True).astype(np.float32)


def mel_features(x, sr=SR):
    """Normalised 80-band log-mel spectrum `[frames, 80]` in [0, 1] (float32)."""
    return spectral.log_mel_spectrogram(
        np.asarray(x, np.float32), sr, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS,
        fmin=FMIN, fmax=FMAX, ref_level_db=MEL_REF_DB,
        min_level_db=MEL_MIN_DB).astype(np.float32)


def mixture_features(x):
    """Encoder inputs of a mixture: {"linear": [frames, 512], "mel": [frames, 80]}."""
    return {"linear": linear_features(x), "mel": mel_features(x)}


def linear_to_magnitude(lin):
    """Invert `linear_features` to an STFT magnitude `[frames, 513]` (Nyquist = 0)."""
    db = spectral.denormalize_db(np.asarray(lin, np.float64), LIN_REF_DB, LIN_MIN_DB)
    mag = spectral.db_to_amplitude(db)
    mag = np.where(np.asarray(lin) <= 0.0, 0.0, mag)  # bins clipped at the floor carry no energy
    return np.concatenate([mag, np.zeros(mag.shape[:-1] + (1,))], axis=-1).astype(np.float32)


def complex_stft(x):
    """Complex STFT `[frames, 513]` with the feature framing."""
    return spectral.stft(np.asarray(x, np.float32), N_FFT, HOP)


def inverse_stft(S, length):
    """Inverse of `complex_stft` at the given output length."""
    return spectral.istft(S, HOP, n_fft=N_FFT, length=length).astype(np.float32)
