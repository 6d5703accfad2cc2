"""Framing, STFT/iSTFT, mel filterbanks and their NNLS inverse, dB normalisation and Griffin-Lim.

Arrays are time-major: a spectrogram is [..., frames, bins], like a Keras
[batch, time, channels] tensor (librosa is [bins, frames]; we transpose).

numpy only at import time (numpy's FFT keeps float32 as complex64), so the
analysis CLIs start fast: scipy.fft alone costs 0.2-0.3 s of start-up, more
than it saves on one minute of audio. (librosa loads its submodules lazily:
importing it costs a millisecond until Griffin-Lim is called.)
"""
import librosa
import numpy as np


def hann_window(win_length):
    """Periodic Hann window, identical to scipy.signal.get_window("hann", n)."""
    if win_length <= 1:
        return np.ones(max(int(win_length), 0))
    # the same arithmetic as scipy's general_cosine, so the bits agree
    fac = np.linspace(-np.pi, np.pi, win_length + 1)
    w = np.zeros(win_length + 1)
    w += 0.5 * np.cos(0 * fac)
    w += 0.5 * np.cos(fac)
    return w[:-1]


def _window(window, win_length, n_fft):
    """Periodic window of win_length, zero-padded and centred to n_fft."""
    if isinstance(window, str) and window == "hann":
        w = hann_window(win_length)
    elif isinstance(window, str):
        # Start-up time: scipy.signal costs 1-2 s to import; only windows other
        # than Hann (none of the toolkit's pipelines) need it.
        import scipy.signal

        w = scipy.signal.get_window(window, win_length, fftbins=True)
    else:
        w = np.asarray(window, dtype=np.float64)
        if w.shape != (win_length,):
            raise ValueError(f"window has {w.shape[0]} taps, expected {win_length}")
    left = (n_fft - win_length) // 2
    return np.pad(w, (left, n_fft - win_length - left))


def _center_pad(x, frame_length, pad_mode="reflect"):
    """Pad the last axis by frame_length//2 on both sides, so that frame t is
    centred on sample t*hop (reflect padding needs more samples than that:
    shorter signals are zero-padded)."""
    pad = frame_length // 2
    mode = pad_mode if (pad_mode != "reflect" or x.shape[-1] > pad) else "constant"
    return np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode=mode)


def frame_signal(x, frame_length, hop_length, center=True, pad_mode="reflect",
                 n_frames=None):
    """Cut a signal into overlapping frames.

    Args:
        x: array [..., n].
        frame_length: int, samples per frame.
        hop_length: int, samples between frame starts (centres if `center`).
        center: bool, default True: frame t is centred on sample t*hop
            (the signal is padded by frame_length//2 with `pad_mode`).
        n_frames: int or None; default 1 + n//hop (center) or
            1 + (n - frame_length)//hop.  Extra frames are zero-padded.
    Returns:
        [..., frames, frame_length] array (a copy).
    """
    x = np.asarray(x)
    n = x.shape[-1]
    if center:
        x = _center_pad(x, frame_length, pad_mode)
        default = 1 + n // hop_length
    else:
        if n < frame_length:
            raise ValueError(f"signal of {n} samples is shorter than one frame "
                             f"({frame_length})")
        default = 1 + (n - frame_length) // hop_length
    n_frames = default if n_frames is None else int(n_frames)
    need = (n_frames - 1) * hop_length + frame_length
    if x.shape[-1] < need:
        widths = [(0, 0)] * (x.ndim - 1) + [(0, need - x.shape[-1])]
        x = np.pad(x, widths)
    frames = np.lib.stride_tricks.sliding_window_view(x, frame_length, axis=-1)
    return np.ascontiguousarray(frames[..., ::hop_length, :][..., :n_frames, :])


def stft(x, n_fft, hop_length, win_length=None, window="hann", center=True,
         pad_mode="reflect", n_frames=None):
    """Short-time Fourier transform, time-major.

    Args:
        x: real array [..., n] (float32 in -> complex64 out, else complex128).
        n_fft: int FFT size; win_length (default n_fft) window samples,
            zero-padded and centred to n_fft (as librosa).
    Returns:
        complex array [..., frames, n_fft//2 + 1]; equals
        librosa.stft(x, ...).T for the same arguments.
    """
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float64, copy=False)
    win_length = n_fft if win_length is None else int(win_length)
    left = (n_fft - win_length) // 2
    n = x.shape[-1]
    if n_frames is None:
        n_frames = 1 + n // hop_length if center else 1 + (n - n_fft) // hop_length
    if center:
        x = _center_pad(x, n_fft, pad_mode)
    # only the win_length samples under the window are non-zero: frame those
    # (less copying) and restore the offset `left` as a linear phase
    frames = frame_signal(x[..., left:], win_length, hop_length, center=False,
                          n_frames=n_frames) if x.shape[-1] - left >= win_length else \
        frame_signal(np.pad(x[..., left:], [(0, 0)] * (x.ndim - 1) +
                            [(0, win_length)]), win_length, hop_length, center=False,
                     n_frames=n_frames)
    w = _window(window, win_length, win_length).astype(x.dtype)
    spec = np.fft.rfft(frames * w, n=n_fft, axis=-1)
    if x.dtype == np.float32:  # numpy >= 2 already keeps single precision (no copy then)
        spec = spec.astype(np.complex64, copy=False)
    if left:
        k = np.arange(n_fft // 2 + 1)
        spec *= np.exp(-2j * np.pi * k * left / n_fft).astype(spec.dtype)
    return spec


def stft_blocks(x, n_fft, hop_length, win_length=None, window="hann", pad_mode="reflect",
                n_frames=None, block_frames=2048):
    """The frames of `stft(x, ..., center=True)`, computed `block_frames` at a time.

    Yields (t0, spec): spec [..., frames t0 .. t0+block_frames-1, n_fft//2 + 1], the
    same values as the rows of the whole STFT. A long signal is then analysed with
    temporaries of a few MB that the allocator reuses, instead of hundreds of MB of
    fresh pages: on one minute of speech this halves get_mfcc.py's analysis time
    (most of the whole-signal version is the kernel zeroing new memory).
    """
    x = np.asarray(x)
    if x.dtype != np.float32:
        x = x.astype(np.float64, copy=False)
    if n_frames is None:
        n_frames = 1 + x.shape[-1] // hop_length
    x = _center_pad(x, n_fft, pad_mode)
    for t0 in range(0, n_frames, block_frames):
        count = min(block_frames, n_frames - t0)
        segment = x[..., t0 * hop_length:(t0 + count - 1) * hop_length + n_fft]
        yield t0, stft(segment, n_fft, hop_length, win_length, window, center=False,
                       n_frames=count)


def istft(S, hop_length, win_length=None, n_fft=None, window="hann", center=True,
          length=None):
    """Inverse STFT by weighted overlap-add, time-major [..., frames, bins].

    Matches librosa.istft (window-sum-square normalisation).
    """
    S = np.asarray(S)
    n_fft = 2 * (S.shape[-1] - 1) if n_fft is None else int(n_fft)
    win_length = n_fft if win_length is None else int(win_length)
    w = _window(window, win_length, n_fft)
    frames = np.fft.irfft(S, n=n_fft, axis=-1) * w
    n_frames = S.shape[-2]
    total = n_fft + hop_length * (n_frames - 1)
    out = np.zeros(S.shape[:-2] + (total,))
    wss = np.zeros(total)
    w2 = w ** 2
    for t in range(n_frames):  # n_frames adds of n_fft samples: cheap
        s = t * hop_length
        out[..., s:s + n_fft] += frames[..., t, :]
        wss[s:s + n_fft] += w2
    nz = wss > np.finfo(np.float64).tiny
    out[..., nz] /= wss[nz]
    start = n_fft // 2 if center else 0
    if length is None:
        end = total - n_fft // 2 if center else total
    else:
        end = start + int(length)
        if end > total:
            out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, end - total)])
    return out[..., start:end]


def hz_to_mel(f, htk=False):
    """Hz to mel: HTK 2595 log10(1 + f/700), or Slaney (linear below 1 kHz)."""
    f = np.asarray(f, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    mels = f / f_sp
    log_region = f >= min_log_hz
    return np.where(log_region,
                    min_log_hz / f_sp + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep,
                    mels)


def mel_to_hz(m, htk=False):
    """Inverse of `hz_to_mel`."""
    m = np.asarray(m, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp = 200.0 / 3
    min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)),
                    f_sp * m)


def mel_filterbank(sr, n_fft, n_mels, fmin=0.0, fmax=None, htk=False, norm="slaney"):
    """Triangular mel filterbank.

    Args:
        sr: sample rate; n_fft: FFT size; n_mels: number of filters.
        fmin, fmax: band edges in Hz (fmax default sr/2).
        htk: HTK mel scale (ResGAN) or Slaney's (librosa's default).
        norm: "slaney" (area-normalised to 2/(f_{i+2}-f_i), librosa's),
            "area" (the same unit-area scaling, named as in the ResGAN paper),
            or None (peak 1).
    Returns:
        [n_mels, n_fft//2 + 1] float64; with htk=False, norm="slaney" it
        equals librosa.filters.mel.
    """
    fmax = sr / 2.0 if fmax is None else float(fmax)
    fft_freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    mel_pts = np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2)
    hz_pts = mel_to_hz(mel_pts, htk)
    fdiff = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm in ("slaney", "area"):
        weights *= (2.0 / (hz_pts[2:] - hz_pts[:-2]))[:, None]
    elif norm is not None:
        raise ValueError(f"unknown filterbank norm {norm!r}")
    return weights


def amplitude_to_db(x, floor=1e-5):
    """20 log10(max(floor, x))."""
    return 20.0 * np.log10(np.maximum(floor, np.abs(x)))


def db_to_amplitude(db):
    """Inverse of `amplitude_to_db` (above the floor)."""
    return 10.0 ** (np.asarray(db) / 20.0)


def normalize_db(S_db, ref_level_db, min_level_db):
    """Map dB to [0, 1]: clip((S_db - ref - min) / -min, 0, 1)."""
    return np.clip((np.asarray(S_db) - ref_level_db - min_level_db) / -min_level_db,
                   0.0, 1.0)


def denormalize_db(S_norm, ref_level_db, min_level_db):
    """Inverse of `normalize_db` (dB values; clipped levels stay at the floor)."""
    return np.clip(S_norm, 0.0, 1.0) * -min_level_db + min_level_db + ref_level_db


def linear_log_spectrogram(x, n_fft=1024, hop_length=256, win_length=None,
                           ref_level_db=20.0, min_level_db=-100.0, drop_nyquist=False,
                           floor=1e-5):
    """Normalised log-magnitude spectrogram [frames, bins] in [0, 1].

    S = 20 log10(max(floor, |X|)) - ref_level_db, mapped by
    (S - min_level_db) / -min_level_db and clipped (Tacotron-style levels).
    """
    mag = np.abs(stft(x, n_fft, hop_length, win_length))
    if drop_nyquist:
        mag = mag[..., :-1]
    return normalize_db(amplitude_to_db(mag, floor), ref_level_db, min_level_db)


def log_mel_spectrogram(x, sr, n_fft=1024, hop_length=256, win_length=None, n_mels=80,
                        fmin=125.0, fmax=7600.0, ref_level_db=20.0, min_level_db=-100.0,
                        floor=1e-5):
    """Normalised log-mel spectrogram [frames, n_mels] in [0, 1].

    Mel (Slaney filters) of the STFT magnitude, then the same dB mapping as
    `linear_log_spectrogram`: the features the WaveNet vocoder is
    conditioned on and the separation encoder predicts.
    """
    mag = np.abs(stft(x, n_fft, hop_length, win_length))
    mel = mag @ mel_filterbank(sr, n_fft, n_mels, fmin, fmax).T
    return normalize_db(amplitude_to_db(mel, floor), ref_level_db, min_level_db)


def mel_to_linear(mel, filterbank, n_iter=100):
    """Linear magnitude whose mel is closest to `mel`: non-negative least squares.

    Solves ``min ||S F^T - mel||`` over ``S >= 0`` from the clipped pseudo-inverse (the
    start librosa.feature.inverse.mel_to_stft uses) by accelerated projected gradient
    (FISTA), numpy only. Bins no filter covers stay 0 (to rounding).

    Args:
        mel: [..., frames, n_mels] mel magnitudes (linear, not dB).
        filterbank: [n_mels, bins], e.g. `mel_filterbank(...)`.
        n_iter: gradient steps.
    Returns:
        [..., frames, bins] float64, non-negative.
    """
    fb = np.asarray(filterbank, dtype=np.float64)
    mel = np.asarray(mel, dtype=np.float64)
    S = np.clip(mel @ np.linalg.pinv(fb).T, 0.0, None)
    step = 1.0 / np.linalg.norm(fb, 2) ** 2   # 1 / Lipschitz constant of the gradient
    y, t = S, 1.0
    for _ in range(n_iter):
        S_next = np.maximum(y - step * ((y @ fb.T - mel) @ fb), 0.0)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = S_next + ((t - 1.0) / t_next) * (S_next - S)
        S, t = S_next, t_next
    return S


def griffin_lim(magnitude, n_iter=100, hop_length=256, win_length=None, n_fft=None,
                momentum=0.99, length=None, seed=0):
    """Phase reconstruction by (fast) Griffin-Lim, librosa's implementation.

    Args:
        magnitude: [frames, bins] linear magnitude (time-major).
        n_iter: iterations; momentum: 0.99 (fast Griffin-Lim), 0 for classic.
    Returns:
        float32 waveform [n].
    """
    magnitude = np.asarray(magnitude, dtype=np.float32)
    n_fft = 2 * (magnitude.shape[-1] - 1) if n_fft is None else n_fft
    y = librosa.griffinlim(magnitude.T, n_iter=n_iter, hop_length=hop_length,
                           win_length=win_length, n_fft=n_fft, momentum=momentum,
                           length=length, init="random",
                           random_state=np.random.default_rng(seed))
    return y.astype(np.float32)
