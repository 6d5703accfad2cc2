"""Configuration of the CNN vocoder pipeline (analysis, model, loss, training).

The defaults are the repository configuration of the issue: 22.05 kHz audio,
linear spectrogram with n_fft 2048, Hann window 1024, hop 256 (1025 bins),
dB mapping ``(20 log10 max(1e-5, |X|) - 20 + 100) / 100`` clipped to [0, 1],
81-frame segments (81 * 256 = 20736 samples), 8 x2 upsampling layers.
A copy of the configuration is stored as JSON next to every checkpoint.
"""
import copy
import json
from pathlib import Path

DEFAULT_CONFIG = {
    # analysis
    "sr": 22050,
    "n_fft": 2048,
    "win_length": 1024,
    "hop_length": 256,
    "ref_level_db": 20.0,
    "min_level_db": -100.0,
    "n_mels": 80,
    "fmin": 0.0,
    "fmax": 11025.0,
    "segment_frames": 81,
    # model
    "input": "linear",               # "linear" (1025 bins) or "mel" (n_mels bands)
    "prenet_channels": [8, 8, 2],  # first Conv2D, then one residual block per entry
    "upsample_channels": [1024, 512, 256, 128, 64, 32, 16, 8],
    "upsample_kernel": 3,
    "postnet_blocks": 12,
    "postnet_channels": 8,
    "postnet_kernel": 5,
    "n_heads": 1,                    # > 1: heads summed with trainable scalars
    "scaled_softsign": False,        # a*x/(1+|b*x|) instead of softsign
    "bn_momentum": 0.9,
    # loss
    "loss_pad": 1024,
    "loss_low_bins": 500,
    "loss_sc_weight": 0.0,
    # optimiser / training
    "learning_rate": 1e-3,
    "weight_decay": 1e-5,
    "clipnorm": 5.0,
    "batch_size": 4,
}


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


def load_config(path):
    """Read a JSON configuration, filling missing keys with the defaults."""
    with open(path) as f:
        data = json.load(f)
    config = copy.deepcopy(DEFAULT_CONFIG)
    config.update(data)
    return config


def save_config(config, path):
    """Write the configuration as JSON (atomically: temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    tmp.replace(path)
