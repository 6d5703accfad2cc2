"""Spectrogram features of the CNN vocoder and their validation.

``spec``: linear log-magnitude spectrogram [frames, n_fft//2+1] (1025 bins),
``S = 20 log10(max(1e-5, |X|)) - ref_level_db`` mapped by
``(S - min_level_db) / -min_level_db`` and clipped to [0, 1];
``mel``: the same mapping of an ``n_mels``-band mel spectrogram.
Frame t is centred on sample t * hop (``dsp.spectral.stft``, centred).
"""
import zipfile

import numpy as np

from dsp.audio import InputError, check_input_file
from dsp.spectral import (db_to_amplitude, denormalize_db, linear_log_spectrogram,
                          log_mel_spectrogram)


def compute_spec(wav, config):
    """The normalised linear spectrogram [frames, n_fft//2+1] float32 of a waveform."""
    c = config
    spec = linear_log_spectrogram(wav, n_fft=c["n_fft"], hop_length=c["hop_length"],
                                  win_length=c["win_length"], ref_level_db=c["ref_level_db"],
                                  min_level_db=c["min_level_db"])
    return spec.astype(np.float32)


def compute_features(wav, config):
    """(spec [frames, 1025], mel [frames, n_mels]) float32 for a waveform."""
    c = config
    spec = compute_spec(wav, config)
    mel = log_mel_spectrogram(wav, c["sr"], n_fft=c["n_fft"], hop_length=c["hop_length"],
                              win_length=c["win_length"], n_mels=c["n_mels"], fmin=c["fmin"],
                              fmax=c["fmax"], ref_level_db=c["ref_level_db"],
                              min_level_db=c["min_level_db"])
    return spec, mel.astype(np.float32)


def spec_to_magnitude(spec, config):
    """Linear magnitude [frames, bins] of a normalised spectrogram."""
    return db_to_amplitude(denormalize_db(spec, config["ref_level_db"], config["min_level_db"]))


def check_spectrogram(spec, n_bins, what="spectrogram", kind="normalized_db"):
    """Validate a [frames, bins] spectrogram; return it as float32.

    ``kind``: "normalized_db" (values in [0, 1]), "db" or "magnitude" (>= 0).

    Raises:
        InputError: with a one-line message naming ``what`` and the problem
            (not 2-D, empty, wrong bin count, NaN/Inf, outside [0, 1]).
    """
    try:
        spec = np.asarray(spec, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what}: not a numeric array ({exc})") from None
    if spec.ndim != 2:
        raise InputError(f"{what}: expected a 2-D [frames, bins] array, got shape {spec.shape}")
    if spec.shape[0] == 0 or spec.shape[1] == 0:
        raise InputError(f"{what}: empty spectrogram (shape {spec.shape})")
    if spec.shape[1] != n_bins:
        hint = (" (time-major [frames, bins] expected; transpose?)" if spec.shape[0] == n_bins
                else " (made with other STFT settings: another n_fft or mel bands?)")
        raise InputError(f"{what}: has {spec.shape[1]} bins, expected {n_bins}{hint}")
    if not np.all(np.isfinite(spec)):
        raise InputError(f"{what}: contains NaN or Inf values")
    if kind != "db" and not np.any(spec > 0):
        # silence at the floor everywhere: no phase to reconstruct, a CNN would only play
        # its bias; refuse rather than write a file of noise or zeros
        raise InputError(f"{what}: all zeros (silence at the floor), nothing to invert")
    if kind == "normalized_db" and (spec.min() < -1e-3 or spec.max() > 1.0 + 1e-3):
        raise InputError(f"{what}: values outside [0, 1] (min {spec.min():.3g}, "
                         f"max {spec.max():.3g}); expected a normalised dB spectrogram")
    if kind == "magnitude" and spec.min() < 0:
        raise InputError(f"{what}: negative magnitudes")
    return np.clip(spec, 0.0, 1.0) if kind == "normalized_db" else spec


# the analysis settings gen_spec stores beside the arrays (older files may lack them)
STORED_SETTINGS = ("sr", "n_fft", "win_length", "hop_length", "ref_level_db", "min_level_db")


def load_spec_file(path, config, key="spec"):
    """The ``key`` array of a gen_spec ``.npz``, checked against ``config``'s analysis.

    Args:
        path: ``.npz`` written by ``cnnvocoder.gen_spec`` (``spec`` [frames, bins],
            ``mel`` [frames, n_mels], ``n_samples`` and the STORED_SETTINGS).
        config: the analysis settings of the model or preset that will invert it.
        key: "spec" (linear, n_fft//2+1 bins) or "mel" (n_mels bands).

    Returns:
        float32 [frames, bins] array, values in [0, 1].

    Raises:
        InputError: one line naming ``path`` and the problem: not a readable
            archive, no ``key``, wrong shape, NaN/Inf, all zeros, or made with
            other STFT settings (stored settings differ from ``config``, or the
            frame count does not match ``n_samples`` at ``config``'s hop).
    """
    spec = load_spec_npz(path, key)
    with np.load(path) as data:  # the scalars: a few bytes each
        stored = {k: data[k].item() for k in STORED_SETTINGS + ("n_samples",)
                  if k in data.files and data[k].size == 1}
    bad = [f"{k} {stored[k]:g} (expected {config[k]:g})" for k in STORED_SETTINGS
           if k in stored and float(stored[k]) != float(config[k])]
    if bad:
        raise InputError(f"{path}: made with other STFT settings than the model's / preset's: "
                         + ", ".join(bad))
    n_bins = int(config["n_mels"]) if key == "mel" else int(config["n_fft"]) // 2 + 1
    spec = check_spectrogram(spec, n_bins, what=str(path))
    hop = int(config["hop_length"])
    if "n_samples" in stored and len(spec) != 1 + int(stored["n_samples"]) // hop:
        raise InputError(f"{path}: {len(spec)} frames for {int(stored['n_samples'])} samples, "
                         f"not hop {hop}: made with other STFT settings than the model's / "
                         "preset's")
    return spec


def check_npz_file(path):
    """InputError naming `path` unless it is a complete ``.npz`` archive.

    Checked before ``np.load``, which would try to unpickle anything that is not a zip.
    """
    path = check_input_file(path, "a .npz file", missing="no such file")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not a .npz archive (truncated or another format)")


def load_spec_npz(path, key="spec"):
    """Read ``key`` from a ``.npz`` written by gen_spec.py / preprocess.py."""
    check_npz_file(path)
    try:
        with np.load(path) as data:
            if key not in data:
                raise InputError(f"{path}: no '{key}' array (has {sorted(data.files)})")
            return data[key]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except InputError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None
