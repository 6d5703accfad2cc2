"""The log-mel spectrogram the WaveNet vocoder is conditioned on (numpy; no Keras).

One definition for training, the vocode CLI, the sample figures and any pipeline
that feeds the vocoder (separation's encoder predicts exactly these features):
80 Slaney mel bands 125-7600 Hz of the STFT magnitude (n_fft 1024, hop 256 at
22.05 kHz), ``20 log10 - 20`` dB mapped by ``(S + 100) / 100`` and clipped to
[0, 1] (`dsp.spectral.log_mel_spectrogram`), all read from a `WaveNetConfig`.
`mel_magnitude` and `griffin_lim_from_mel` go back: the Griffin-Lim baseline.
"""
import numpy as np

from dsp.spectral import (db_to_amplitude, denormalize_db, griffin_lim, log_mel_spectrogram, mel_filterbank,
                          mel_to_linear)


def log_mel(x, cfg, whole_hops=True):
    """Normalised log-mel ``[frames, cfg.n_mels]`` float32 in [0, 1] at the vocoder's settings.

    Args:
        x: waveform ``[n]`` at ``cfg.sample_rate``.
        cfg: a `wavenet.model.WaveNetConfig` (sample_rate, n_fft, hop, n_mels,
            mel_fmin, mel_fmax, ref_level_db, min_level_db are read).
        whole_hops: True (the vocoder's alignment): ``frames = len(x) // hop``, frame
            ``f`` conditions samples ``f*hop ... (f+1)*hop - 1`` of ``x[:frames*hop]``;
            False: every centred frame, ``1 + len(x) // hop``.
    """
    mel = log_mel_spectrogram(np.asarray(x, np.float32), cfg.sample_rate, n_fft=cfg.n_fft,
                              hop_length=cfg.hop, n_mels=cfg.n_mels, fmin=cfg.mel_fmin,
                              fmax=cfg.mel_fmax, ref_level_db=cfg.ref_level_db,
                              min_level_db=cfg.min_level_db).astype(np.float32)
    return mel[:len(x) // cfg.hop] if whole_hops else mel


def mel_magnitude(mel, cfg, n_iter=100):
    """The STFT magnitude ``[frames, n_fft // 2 + 1]`` whose log-mel is ``mel`` (`log_mel`'s inverse).

    dB de-normalised (levels clipped at 0 come back at the floor, ``min + ref`` dB), then the
    non-negative least-squares inverse of the same Slaney filterbank (`dsp.spectral.mel_to_linear`,
    ``n_iter`` gradient steps; a spectral envelope needs far fewer than Griffin-Lim's magnitude).
    """
    amp = db_to_amplitude(denormalize_db(np.asarray(mel, np.float64), cfg.ref_level_db, cfg.min_level_db))
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.mel_fmin, cfg.mel_fmax)
    return mel_to_linear(amp, fb, n_iter=n_iter)


def griffin_lim_from_mel(mel, cfg, n_iter=32, seed=0):
    """Griffin-Lim waveform of exactly ``frames * cfg.hop`` samples from a `log_mel` (fast GL, momentum 0.99)."""
    mag = mel_magnitude(mel, cfg)
    mag = np.concatenate([mag, mag[-1:]])  # the centred STFT of frames * hop samples has one frame more
    return griffin_lim(mag, n_iter=n_iter, hop_length=cfg.hop, n_fft=cfg.n_fft, length=len(mel) * cfg.hop,
                       seed=seed)
