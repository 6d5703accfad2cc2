"""Layers of the PGHI-refining CNN vocoder (``keras.ops`` only, serialisable).

- :class:`RefinerFeatures` the CNN's input channels from the normalised spectrogram
  and the PGHI start (its phase and declipped log-magnitude).
- :class:`ISTFTSynthesis`  the start corrected by the CNN (a unit rotation of the
  phase and a bounded log gain of the magnitude per bin), then the inverse STFT.

Frames are centred (frame t on sample t * hop, ``dsp.spectral.stft``), the
analysis window is a periodic Hann of ``win_length`` centred in ``n_fft``.
"""
import keras
import numpy as np
from keras import ops

from dsp.spectral import hann_window

PACKAGE = "cnnvocoder"
# dB of the normalised spectrogram: (20 log10|X| - ref - floor) / -floor; as natural log
# units (nepers) 100 dB is 11.5, the scale the features use
_NEPER_PER_DB = np.log(10.0) / 20.0


def _wrap_channels(angle):
    return ops.cos(angle), ops.sin(angle)


@keras.saving.register_keras_serializable(package=PACKAGE)
class RefinerFeatures(keras.layers.Layer):
    """Eight feature channels per time-frequency bin for the refining CNN.

    Channels: the log-magnitude (nepers, centred), its frequency and time differences,
    the declipped start's log-magnitude, and the cosine and sine of the start phase's
    time difference (less the bin-centre advance) and frequency difference: phase
    differences, not phases, since a constant phase offset carries no information.

    Args:
        n_fft, hop_length: the analysis (bin-centre advance 2 pi k hop / n_fft per frame).
        min_level_db: the normalised spectrogram's floor (negative dB).

    Shapes: ``spec``, ``phase``, ``log_mag`` ``[batch, frames, bins]`` ->
    ``[batch, frames, bins, 8]``.
    """

    def __init__(self, n_fft=2048, hop_length=256, min_level_db=-100.0, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.hop_length = int(n_fft), int(hop_length)
        self.min_level_db = float(min_level_db)

    def call(self, spec, phase, log_mag):
        x = spec * (-self.min_level_db * _NEPER_PER_DB)
        xp = ops.pad(x, [[0, 0], [1, 1], [1, 1]], mode="symmetric")
        d_freq = xp[:, 1:-1, 2:] - xp[:, 1:-1, :-2]
        d_time = xp[:, 2:, 1:-1] - xp[:, :-2, 1:-1]
        bins = ops.cast(ops.arange(self.n_fft // 2 + 1), phase.dtype)
        advance = bins * (2.0 * np.pi * self.hop_length / self.n_fft)
        dp_time = ops.pad(phase[:, 1:] - phase[:, :-1] - advance, [[0, 0], [1, 0], [0, 0]])
        dp_freq = ops.pad(phase[:, :, 1:] - phase[:, :, :-1], [[0, 0], [0, 0], [1, 0]])
        return ops.stack([x - 5.0, d_freq, d_time, (log_mag + 3.0) / 5.0,
                          *_wrap_channels(dp_time), *_wrap_channels(dp_freq)], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(n_fft=self.n_fft, hop_length=self.hop_length, min_level_db=self.min_level_db)
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class ISTFTSynthesis(keras.layers.Layer):
    """Correct the start spectrum and invert it: the waveform and the unit phase used.

    ``S = exp(log_mag + max_log_gain * tanh(gain)) * exp(i phase) * (re + i im) / |re + i im|``,
    then the inverse STFT with window-sum-square normalisation (exact for a consistent
    ``S`` away from the first and last frame, ``tests/cnnvocoder/test_refiner.py``).

    Args:
        n_fft, win_length, hop_length: the analysis; ``win_length`` a multiple of the hop.
        max_log_gain: float, default 3.0. Largest magnitude correction in nepers
            (26 dB), e.g. to restore peaks clipped by the normalised spectrogram.

    Shapes: ``log_mag``, ``phase``, ``re``, ``im``, ``gain`` ``[batch, frames, bins]`` ->
    (``[batch, frames * hop]`` waveform, ``[batch, frames, bins, 2]`` cos and sin of the phase).
    """

    def __init__(self, n_fft=2048, win_length=1024, hop_length=256, max_log_gain=3.0, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.win_length, self.hop_length = int(n_fft), int(win_length), int(hop_length)
        self.max_log_gain = float(max_log_gain)
        if self.win_length % self.hop_length or self.win_length > self.n_fft:
            raise ValueError(f"win_length {win_length} must be a multiple of hop_length "
                             f"{hop_length} and at most n_fft {n_fft}")
        self.window = hann_window(self.win_length).astype(np.float32)
        chunks = self.win_length // self.hop_length
        # the overlap-added squared windows: the same for every hop away from the edges
        self.window_sum = (self.window ** 2).reshape(chunks, self.hop_length).sum(0)

    def call(self, log_mag, phase, re, im, gain):
        mag = ops.exp(log_mag + self.max_log_gain * ops.tanh(gain))
        norm = ops.sqrt(re * re + im * im + 1e-6)
        cos_p, sin_p = ops.cos(phase), ops.sin(phase)
        unit_re = (cos_p * re - sin_p * im) / norm
        unit_im = (cos_p * im + sin_p * re) / norm
        frames = ops.irfft((mag * unit_re, mag * unit_im), fft_length=self.n_fft)
        left = (self.n_fft - self.win_length) // 2
        frames = frames[:, :, left:left + self.win_length] * self.window
        batch, n_frames = ops.shape(frames)[0], ops.shape(frames)[1]
        hop, chunks = self.hop_length, self.win_length // self.hop_length
        # frame t covers [t hop - win/2, t hop + win/2): its chunk j lands on hop t - chunks/2 + j
        out = 0.0
        for j in range(chunks):
            piece = ops.reshape(frames[:, :, j * hop:(j + 1) * hop], (batch, n_frames * hop))
            out = out + ops.pad(piece, [[0, 0], [j * hop, (chunks - 1 - j) * hop]])
        start = (chunks // 2) * hop
        out = ops.reshape(out[:, start:start + n_frames * hop], (batch, n_frames, hop))
        wav = ops.reshape(out / self.window_sum, (batch, n_frames * hop))
        return wav, ops.stack([unit_re, unit_im], axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(n_fft=self.n_fft, win_length=self.win_length, hop_length=self.hop_length,
                      max_log_gain=self.max_log_gain)
        return config
