"""Configuration of the CNN vocoder pipeline (analysis, model, loss, optimiser).

A configuration is a flat dict. Its defaults, ``DEFAULT_CONFIG``, are the
repository configuration, defined once in ``presets/repo.json``: 22.05 kHz
audio, linear spectrogram with n_fft 2048, Hann window 1024, hop 256 (1025
bins), dB mapping ``(20 log10 max(1e-5, |X|) - 20 + 100) / 100`` clipped to
[0, 1], 81-frame segments (81 * 256 = 20736 samples), 8 x2 upsampling layers.

Keys:
    analysis   sr, n_fft, win_length, hop_length, ref_level_db, min_level_db,
               n_mels, fmin, fmax, segment_frames (``ANALYSIS_KEYS``)
    model      input ("linear": n_fft//2+1 bins, or "mel": n_mels bands),
               prenet_channels (first Conv2D, then one residual block per
               entry), upsample_channels (one x2 layer each), upsample_kernel,
               postnet_blocks, postnet_channels, postnet_kernel, n_heads (> 1:
               heads summed with trainable scalars), scaled_softsign
               (a x / (1 + |b x|) instead of softsign), bn_momentum
    loss       loss_pad, loss_low_bins, loss_sc_weight
    optimiser  learning_rate, weight_decay, clipnorm, batch_size

A preset (``presets/NAME.json``, ``--preset NAME`` or ``--preset FILE``) holds
configuration keys and the trainer's stage settings (``TRAINING_DEFAULTS``:
epochs, steps_per_epoch, sample_every); every key of it is a flag of
``python -m cnnvocoder.train``. The trainer saves the resolved configuration
beside every checkpoint (``dsp.presets.save_config``); :func:`load_config`
reads its configuration keys back (keys an older file lacks get the defaults).
"""
import argparse
import copy
from pathlib import Path

from dsp.presets import load_config as load_json, load_preset

PRESET_DIR = Path(__file__).resolve().parent / "presets"
DEFAULT_PRESET = "repo"
ANALYSIS_KEYS = ("sr", "n_fft", "win_length", "hop_length", "ref_level_db", "min_level_db",
                 "n_mels", "fmin", "fmax", "segment_frames")

_REPO = load_preset(PRESET_DIR, DEFAULT_PRESET)
TRAINING_DEFAULTS = {k: _REPO.pop(k) for k in ("epochs", "steps_per_epoch", "sample_every")}
DEFAULT_CONFIG = _REPO


def n_input_bins(config):
    """Number of spectrogram rows the model expects (1025 linear or n_mels)."""
    if config["input"] == "mel":
        return int(config["n_mels"])
    if config["input"] == "linear":
        return int(config["n_fft"]) // 2 + 1
    raise ValueError(f"config 'input' must be 'linear' or 'mel', got {config['input']!r}")


def make_config(**overrides):
    """Default configuration updated with ``overrides`` (unknown keys raise)."""
    config = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in overrides.items():
        if key not in config:
            raise KeyError(f"unknown cnnvocoder config key {key!r}")
        config[key] = value
    n_input_bins(config)  # validates "input"
    return config


def _config_of(settings):
    """The configuration keys of a preset or saved configuration (others ignored)."""
    return make_config(**{k: v for k, v in settings.items() if k in DEFAULT_CONFIG})


def preset_config(name):
    """Configuration of ``--preset NAME`` (``presets/NAME.json``) or of a .json file,
    e.g. a configuration saved beside a checkpoint; training settings are ignored."""
    return _config_of(load_preset(PRESET_DIR, name))


def load_config(path):
    """Configuration saved beside a checkpoint or segments (missing keys: defaults)."""
    return _config_of(load_json(path))


def config_path_for(model_path):
    """JSON configuration stored next to a checkpoint (``x.keras`` -> ``x.json``
    or ``config.json`` in the same folder), or None."""
    model_path = Path(model_path)
    for cand in (model_path.with_suffix(".json"), model_path.parent / "config.json"):
        if cand.is_file():
            return cand
    return None


def add_config_flags(parser):
    """One flag per configuration key (``--n_heads 2``, ``--upsample_channels 64 32``,
    ``--scaled_softsign``), defaults from ``DEFAULT_CONFIG``, in their own help group."""
    group = parser.add_argument_group(
        "configuration (defaults: the preset's; see cnnvocoder/config.py)")
    for key, value in DEFAULT_CONFIG.items():
        if isinstance(value, bool):
            group.add_argument(f"--{key}", action=argparse.BooleanOptionalAction, default=value)
        elif isinstance(value, list):
            group.add_argument(f"--{key}", type=int, nargs="+", default=value, metavar="N")
        elif key == "input":
            group.add_argument("--input", choices=("linear", "mel"), default=value,
                               help="model input: linear spectrogram or mel bands")
        else:
            group.add_argument(f"--{key}", type=type(value), default=value)
    return group
