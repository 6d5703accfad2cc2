"""Mel-conditioned WaveNet vocoder (Keras 3) with fast cached generation.

A general component: separation (and any other pipeline) imports it; it imports
only `dsp` and `corpus`. Runs on every Keras backend (no TensorFlow-only code).

Modules:
    model          WaveNetConfig, build_wavenet, save_vocoder / load_vocoder, make_loss
    layers         the registered Keras layers (MuLawCompand, ConditionUpsampler, GatedResidualBlock)
    distributions  256-way µ-law softmax and logistic-mixture losses and samplers
    features       the log-mel the vocoder is conditioned on (from `dsp.spectral`)
    noise_shaping  LPC from the mel, whiten / shape: the residual a noise-shaped vocoder models
    generation     FastWaveNetGenerator (per-layer queues), vocode, naive_generate
    training       the training loop library (windows, callbacks, samples, resume)
    train          CLI: python -m wavenet.train --data_dir DIR --out_dir DIR --preset default
    vocode         CLI: python -m wavenet.vocode --model FILE --input ... --out_dir DIR
Presets: wavenet/presets/{default,paper}.json. See wavenet/README.md.
"""
import dsp  # noqa: F401  (first: sets TensorFlow's log level before Keras loads)

from pathlib import Path

PRESET_DIR = Path(__file__).resolve().parent / "presets"   # NAME.json files for --preset NAME
