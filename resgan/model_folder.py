"""A trained ResGAN model folder: what copy-synthesis and evaluation of new recordings need.

A model folder (``models/`` after training, ``pretrained/resgan/`` when shipped) holds

* ``pulse_model.keras`` -- the pulse model, input ``[batch, context, 22]``;
* ``generator.keras`` -- the GAN noise model, inputs ``pulse, z [batch, 400]``;
* ``stats.json`` -- what the training data knew: ``input_means``, ``input_stdevs``
  ``[22]`` (the z-normalisation of the inputs) and ``mean_pulse_all``,
  ``mean_pulse_voiced`` ``[400]`` (the no-input baselines, `resgan.baselines`).

Stage 1 writes ``stats.json`` (`write_stats`); for a folder trained before it
existed, ``--data_dir`` (the training data) stands in. `load_model_folder`
checks every file and says in one line which is missing or does not match.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsp.audio import InputError, write_json
from dsp.backend import load_keras_model
from resgan import models  # registers the layers the .keras files name
from resgan.baselines import PulseBaselines
from resgan.constants import MODEL_FILES, N_INPUTS as N_FEATURES, PULSE_LENGTH, STATS_FILE
from resgan.netcdf import list_data_files, norm_stats
_STATS_SHAPES = {"input_means": (N_FEATURES,), "input_stdevs": (N_FEATURES,),
                 "mean_pulse_all": (PULSE_LENGTH,), "mean_pulse_voiced": (PULSE_LENGTH,)}


@dataclass
class ModelStats:
    """The training data's normalisation and mean pulses (all arrays float32)."""

    input_means: np.ndarray
    input_stdevs: np.ndarray
    mean_pulse_all: np.ndarray
    mean_pulse_voiced: np.ndarray

    def normalise(self, inputs):
        """Raw inputs ``[n, 22]`` -> z-normalised, as in the training data."""
        return ((np.asarray(inputs, np.float32) - self.input_means) / self.input_stdevs).astype(np.float32)

    @property
    def input_stats(self):
        """``(input_means, input_stdevs)``."""
        return self.input_means, self.input_stdevs

    @property
    def baselines(self):
        return PulseBaselines(self.mean_pulse_all, self.mean_pulse_voiced)


def stats_from_files(files):
    """`ModelStats` computed from training ``data.ncK`` files."""
    norm = norm_stats(files[0])  # every packaged file holds the corpus-wide statistics
    base = PulseBaselines.from_files(files)
    return ModelStats(norm["input_means"], norm["input_stdevs"], base.mean_all, base.mean_voiced)


def write_stats(model_dir, stats):
    """``<model_dir>/stats.json`` (atomically; JSON so that a reader sees the numbers)."""
    path = Path(model_dir) / STATS_FILE
    write_json(path, {k: [float(v) for v in getattr(stats, k)] for k in _STATS_SHAPES})
    return path


def read_stats(path):
    """`ModelStats` of a ``stats.json``; InputError naming the file and the problem."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
        arrays = {k: np.asarray(v, np.float64) for k, v in raw.items()}
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the statistics ({type(exc).__name__}: {exc})") from None
    for key, shape in _STATS_SHAPES.items():
        if key not in arrays:
            raise InputError(f"{path}: {key}: missing")
        if arrays[key].shape != shape:
            raise InputError(f"{path}: {key} has shape {arrays[key].shape}, expected {shape}")
        if not np.all(np.isfinite(arrays[key])):
            raise InputError(f"{path}: {key}: non-finite values")
    if np.any(arrays["input_stdevs"] <= 0):
        raise InputError(f"{path}: input_stdevs: values <= 0")
    return ModelStats(*(arrays[k].astype(np.float32) for k in _STATS_SHAPES))


def load_networks(model_dir, missing_hint=f"a model folder holds {', '.join(MODEL_FILES)} and {STATS_FILE}"):
    """``(pulse_model, generator)`` of a folder, without their optimizers.

    Raises:
        InputError: ``"<file>: missing (<missing_hint>)"``, or a file Keras cannot load.
    """
    model_dir = Path(model_dir)
    for name in MODEL_FILES:
        if not (model_dir / name).is_file():
            raise InputError(f"{model_dir / name}: missing ({missing_hint})")
    pulse, gen = (load_keras_model(model_dir / name, what, compile=False)
                  for name, what in zip(MODEL_FILES, ("pulse model", "generator")))
    return pulse, gen


@dataclass
class ModelFolder:
    """The loaded models, their statistics and the pulse model's context length."""

    path: Path
    pulse_model: object
    generator: object
    stats: ModelStats
    context_len: int

    @property
    def pitch_window(self):
        """True when the generator takes each frame's pitch window (`models.pitch_windows`)."""
        return models.uses_pitch_window(self.generator)


def load_model_folder(model_dir, data_dir=None):
    """Load and cross-check a model folder (see the module doc).

    Args:
        model_dir: the folder.
        data_dir: training data standing in for a missing ``stats.json`` (older folders).
    Raises:
        InputError: ``"<file>: <problem>"`` for a missing folder or file, a file Keras
            cannot load, or models and statistics that do not fit together.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError(f"{model_dir}: model folder not found")
    for name in MODEL_FILES:  # before reading the statistics: the models are the first question
        if not (model_dir / name).is_file():
            raise InputError(f"{model_dir / name}: missing (a model folder holds "
                             f"{', '.join(MODEL_FILES)} and {STATS_FILE})")
    stats_path = model_dir / STATS_FILE
    if stats_path.is_file():
        stats = read_stats(stats_path)
    elif data_dir is not None and Path(data_dir).is_dir():
        stats = stats_from_files(list_data_files(data_dir))
    else:
        raise InputError(f"{stats_path}: missing (the training data's statistics; "
                         f"or give the training data with --data_dir)")
    pulse, gen = load_networks(model_dir)
    shape = tuple(pulse.inputs[0].shape[1:])
    if len(shape) != 2 or shape[1] != N_FEATURES or shape[0] is None:
        raise InputError(f"{model_dir / 'pulse_model.keras'}: input shape {shape}, expected "
                         f"(context, {N_FEATURES})")
    for inp in gen.inputs:  # pulse, z (and the pitch window: models.uses_pitch_window)
        if tuple(inp.shape[1:]) != (PULSE_LENGTH,) or len(gen.inputs) not in (2, 3):
            raise InputError(f"{model_dir / 'generator.keras'}: input shape {tuple(inp.shape[1:])}, "
                             f"expected ({PULSE_LENGTH},)")
    return ModelFolder(model_dir, pulse, gen, stats, int(shape[0]))
