"""The log-mel spectrogram the WaveNet vocoder is conditioned on (numpy; no Keras).

One definition for training, the vocode CLI, the sample figures and any pipeline
that feeds the vocoder (separation's encoder predicts exactly these features):
80 Slaney mel bands 125-7600 Hz of the STFT magnitude (n_fft 1024, hop 256 at
22.05 kHz), ``20 log10 - 20`` dB mapped by ``(S + 100) / 100`` and clipped to
[0, 1] (`dsp.spectral.log_mel_spectrogram`), all read from a `WaveNetConfig`.
`mel_magnitude` and `griffin_lim_from_mel` go back: the Griffin-Lim baseline.
`mel_postfilter` pulls a generated waveform's mel toward the one it was generated from;
`random_phase_from_mel` is its no-vocoder control.
"""
import numpy as np

from dsp.postfilters import match_mel_envelope
from dsp.spectral import (db_to_amplitude, denormalize_db, griffin_lim, istft, log_mel_spectrogram, mel_filterbank,
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


def _centred_magnitude(mel, cfg):
    """`mel_magnitude` with its last frame repeated: the centred STFT of frames * hop samples has one more."""
    mag = mel_magnitude(mel, cfg)
    return np.concatenate([mag, mag[-1:]])


def griffin_lim_from_mel(mel, cfg, n_iter=32, seed=0):
    """Griffin-Lim waveform of exactly ``frames * cfg.hop`` samples from a `log_mel` (fast GL, momentum 0.99)."""
    return griffin_lim(_centred_magnitude(mel, cfg), n_iter=n_iter, hop_length=cfg.hop, n_fft=cfg.n_fft,
                       length=len(mel) * cfg.hop, seed=seed)


def random_phase_from_mel(mel, cfg, seed=0):
    """``frames * cfg.hop`` samples: `mel_magnitude` with uniformly random phase, inverted (Griffin-Lim's
    start). Through `mel_postfilter` it is the control that says how much the post-filter does alone."""
    mag = _centred_magnitude(mel, cfg)
    phase = np.random.default_rng(seed).uniform(-np.pi, np.pi, mag.shape)
    return istft(mag * np.exp(1j * phase), cfg.hop, n_fft=cfg.n_fft, length=len(mel) * cfg.hop).astype(np.float32)


def mel_postfilter(wav, mel, cfg, max_gain_db=12.0, n_iter=3):
    """``wav`` (``frames * cfg.hop`` samples generated from ``mel``) with its mel amplitudes pulled
    toward ``mel``'s, its phase and in-band fine structure kept (`dsp.postfilters.match_mel_envelope`).

    Args:
        wav: waveform ``[frames * cfg.hop]``.
        mel: the `log_mel` ``[frames, cfg.n_mels]`` it was generated from.
        max_gain_db: largest per-band correction per iteration (dB).
        n_iter: iterations.
    Returns:
        float32 ``[frames * cfg.hop]``.
    """
    amp = db_to_amplitude(denormalize_db(np.asarray(mel, np.float64), cfg.ref_level_db, cfg.min_level_db))
    fb = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.mel_fmin, cfg.mel_fmax)
    return match_mel_envelope(wav, amp, fb, cfg.n_fft, cfg.hop, max_gain_db=max_gain_db, n_iter=n_iter)
