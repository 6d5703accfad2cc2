"""Post-filters that pull a generated waveform toward the spectral features it was generated from (numpy).

A sample-by-sample vocoder conditioned on a mel spectrogram reproduces the mel only roughly: band
energies drift and voiced frames come out breathy. `match_mel_envelope` corrects the band
amplitudes of every frame toward the conditioning mel while keeping the waveform's own phase and
the fine structure inside each band, i.e. a smooth time-varying equaliser, not a re-synthesis.
"""
import numpy as np

from dsp.spectral import istft, stft


def mel_gains_to_bins(log_gains, filterbank):
    """Spread per-band log gains to linear-frequency bins.

    Each bin gets the filterbank-weighted mean of the log gains of the bands that cover it, so
    the gain is smooth across frequency; bins no band covers get log gain 0 (left unchanged).

    Args:
        log_gains: [frames, n_mels] natural-log amplitude gains.
        filterbank: [n_mels, bins] non-negative mel weights.
    Returns:
        [frames, bins] log gains.
    """
    fb = np.asarray(filterbank, dtype=np.float64)
    cover = fb.sum(axis=0)
    spread = np.asarray(log_gains, dtype=np.float64) @ fb
    return np.where(cover > 0, spread / np.maximum(cover, 1e-12), 0.0)


def match_mel_envelope(x, target_mel, filterbank, n_fft, hop_length, max_gain_db=12.0, n_iter=3, floor=1e-5):
    """``x`` re-weighted so that its mel amplitudes approach ``target_mel``, its STFT phase kept.

    Each iteration takes the centred STFT of the current signal (frame ``f`` centred on sample
    ``f * hop_length``), measures its mel amplitudes, clips the log ratio target / measured of every
    band to ``±max_gain_db``, spreads it to the STFT bins (`mel_gains_to_bins`), multiplies the
    STFT by it and resynthesises by overlap-add. Overlap-add makes the next STFT differ from the
    modified one, so a few iterations bring the band amplitudes closer than one.

    Args:
        x: waveform [n].
        target_mel: [frames, n_mels] linear mel amplitudes (``|STFT| @ filterbank.T`` of the wanted
            signal) for frames ``0 .. frames - 1``; ``frames`` must be ``1 + n // hop_length``
            (every centred frame) or one less (``n // hop_length``, whole hops), in which case the
            last row is repeated for the final frame.
        filterbank: [n_mels, n_fft // 2 + 1] the filterbank ``target_mel`` was measured with.
        n_fft, hop_length: STFT size and hop (Hann window of n_fft samples).
        max_gain_db: largest boost or cut per band and iteration, in dB (> 0).
        n_iter: iterations (>= 1).
        floor: amplitude floor of both mels before the log ratio (silence is not boosted from 0).
    Returns:
        float32 waveform [n].
    Raises:
        ValueError: on a frame-count or band-count mismatch, or out-of-range settings.
    """
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(target_mel, dtype=np.float64)
    fb = np.asarray(filterbank, dtype=np.float64)
    n_frames = 1 + len(x) // hop_length
    if target.ndim != 2 or target.shape[1] != fb.shape[0] or fb.shape[1] != n_fft // 2 + 1:
        raise ValueError(f"target mel {target.shape} does not fit filterbank {fb.shape} and n_fft {n_fft}")
    if len(target) == n_frames - 1 and n_frames > 1:
        target = np.concatenate([target, target[-1:]])
    if len(target) != n_frames:
        raise ValueError(f"target mel has {len(target)} frames; a {len(x)}-sample signal at hop {hop_length} "
                         f"needs {n_frames} or {n_frames - 1}")
    if max_gain_db <= 0 or n_iter < 1:
        raise ValueError(f"max_gain_db must be > 0 and n_iter >= 1, got {max_gain_db} and {n_iter}")
    limit = max_gain_db / 20.0 * np.log(10.0)
    log_target = np.log(np.maximum(target, floor))
    for _ in range(n_iter):
        spec = stft(x, n_fft, hop_length)
        measured = np.abs(spec) @ fb.T
        log_gains = np.clip(log_target - np.log(np.maximum(measured, floor)), -limit, limit)
        x = istft(spec * np.exp(mel_gains_to_bins(log_gains, fb)), hop_length, n_fft=n_fft, length=len(x))
    return x.astype(np.float32)
