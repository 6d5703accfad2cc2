"""One interface for spectrogram inversion: CNN vocoder, Griffin-Lim or PGHI.

    from cnnvocoder.inversion import invert
    wav = invert(spec, "pghi")                       # normalised dB, 1025 bins
    wav = invert(mag, "griffinlim", spec_type="magnitude", n_iter=100,
                 n_fft=1024, win_length=1024, hop_length=256)
    wav = invert(spec, "cnn", model="models/cnnvocoder/model.keras")

``spec`` is time-major ``[frames, bins]``.  ``spec_type`` says what it holds:
``"normalized_db"`` (default: the [0, 1] mapping of ``cnnvocoder.features``
with ``ref_level_db``/``min_level_db``), ``"db"`` (20 log10 |X|) or
``"magnitude"`` (|X|).  The CNN method needs a trained model whose
configuration (n_fft, levels, linear or mel input) matches the spectrogram;
Griffin-Lim and PGHI need a linear spectrogram with ``n_fft//2+1`` bins.
"""
import json
from pathlib import Path

import numpy as np

from cnnvocoder.config import DEFAULT_CONFIG, load_config, n_input_bins
from cnnvocoder.features import check_spectrogram, spec_to_magnitude
from cnnvocoder.pghi import pghi
from dsp.audio import InputError
from dsp.spectral import amplitude_to_db, db_to_amplitude, griffin_lim, normalize_db

METHODS = ("cnn", "griffinlim", "pghi")
SPEC_TYPES = ("normalized_db", "db", "magnitude")


def config_path_for(model_path):
    """JSON configuration stored next to a checkpoint (``x.keras`` -> ``x.json``
    or ``config.json`` in the same folder)."""
    model_path = Path(model_path)
    for cand in (model_path.with_suffix(".json"), model_path.parent / "config.json"):
        if cand.is_file():
            return cand
    return None


def load_vocoder(model_path):
    """(model, config) from a ``.keras`` checkpoint and its JSON configuration."""
    import keras

    import cnnvocoder.layers  # noqa: F401  (registers the custom layers)
    import cnnvocoder.losses  # noqa: F401

    model_path = Path(model_path)
    if not model_path.is_file():
        raise InputError(f"{model_path}: no such model file")
    cfg_path = config_path_for(model_path)
    config = load_config(cfg_path) if cfg_path else dict(DEFAULT_CONFIG)
    try:
        model = keras.saving.load_model(model_path, compile=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{model_path}: cannot load the model ({exc})") from None
    return model, config


def fast_vocoder(model):
    """The compiled inference form (:class:`cnnvocoder.inference.FastVocoder`)
    of a keras model, or ``model`` itself when it already is one.  Build it
    once and pass it to :func:`invert` for repeated calls (the first call of a
    new object traces the graph); it holds a copy of the weights."""
    from cnnvocoder.inference import FastVocoder

    return model if isinstance(model, FastVocoder) else FastVocoder(model)


def _model_bins(model):
    from cnnvocoder.inference import FastVocoder

    return model.n_bins if isinstance(model, FastVocoder) else int(model.input_shape[-1])


def run_cnn_keras(model, spec):
    """The plain keras call ``model(spec[None], training=False)`` (reference
    and speed baseline of the FastVocoder)."""
    from keras import ops

    y = model(ops.convert_to_tensor(spec[None].astype(np.float32)), training=False)
    return np.asarray(ops.convert_to_numpy(y))[0].astype(np.float32)


def run_cnn(model, spec):
    """Waveform [frames*256] from a checked normalised spectrogram, BN in inference mode.

    ``model``: a FastVocoder (BN folded, one compiled pass) or a keras.Model,
    converted on the fly (use :func:`fast_vocoder` once for repeated calls).
    """
    from cnnvocoder.inference import FastVocoder

    if not isinstance(model, FastVocoder):
        try:
            model = FastVocoder(model)
        except (ValueError, KeyError):
            return run_cnn_keras(model, spec)  # a layout FastVocoder does not know
    return model(spec)


def invert(spec, method="pghi", *, spec_type="normalized_db", model=None, config=None,
           n_iter=32, momentum=0.99, tol_db=100.0, refine_iter=0, length=None, seed=0,
           fast=True, **stft_overrides):
    """Waveform from a spectrogram by the chosen method.

    Args:
        spec: [frames, bins] array (see ``spec_type``).
        method: "cnn", "griffinlim" or "pghi".
        spec_type: "normalized_db" (default), "db" or "magnitude".
        model: FastVocoder (see :func:`fast_vocoder`), keras.Model or path
            of a ``.keras`` checkpoint (method "cnn").
        config: dict of analysis settings (n_fft, win_length, hop_length,
            ref_level_db, min_level_db, input); defaults to the model's
            stored configuration or ``cnnvocoder.config.DEFAULT_CONFIG``.
        n_iter, momentum: Griffin-Lim iterations (32) and momentum (0.99).
        tol_db: PGHI silence threshold below the peak (dB, default 100).
        refine_iter: fast Griffin-Lim iterations after PGHI (default 0).
        length: output length in samples (default frames * hop for "cnn",
            (frames - 1) * hop otherwise).
        seed: random initial / silence phase.
        fast: bool, default True. Method "cnn": run the FastVocoder form
            (BatchNorm folded, upsampling as matrix product + interpolation,
            one compiled pass); False runs the keras model as built.
        **stft_overrides: n_fft, win_length, hop_length, ref_level_db,
            min_level_db overriding the configuration.
    Returns:
        float32 waveform [n].
    Raises:
        InputError: bad spectrogram (shape, bin count, NaN/Inf, empty, range)
            or a method/model mismatch.
    """
    if method not in METHODS:
        raise InputError(f"unknown inversion method {method!r} (choose from {', '.join(METHODS)})")
    if spec_type not in SPEC_TYPES:
        raise InputError(f"unknown spec_type {spec_type!r} (choose from {', '.join(SPEC_TYPES)})")
    if method == "cnn":
        if model is None:
            raise InputError("method 'cnn' needs a model (keras.Model or .keras path)")
        if isinstance(model, (str, Path)):
            model, model_config = load_vocoder(model)
            config = config or model_config
    cfg = dict(DEFAULT_CONFIG)
    cfg.update(config or {})
    unknown = set(stft_overrides) - {"n_fft", "win_length", "hop_length", "ref_level_db",
                                     "min_level_db"}
    if unknown:
        raise TypeError(f"invert() got unexpected arguments {sorted(unknown)}")
    cfg.update(stft_overrides)
    if method != "cnn" and cfg["input"] == "mel":
        cfg["input"] = "linear"  # GL / PGHI always work on the linear spectrogram
    n_bins = n_input_bins(cfg)
    if method == "cnn" and _model_bins(model) != n_bins:
        raise InputError(f"model expects {_model_bins(model)} bins but the configuration "
                         f"says {n_bins}")

    spec = check_spectrogram(spec, n_bins, kind=spec_type)
    ref, floor = cfg["ref_level_db"], cfg["min_level_db"]
    hop = int(cfg["hop_length"])

    if method == "cnn":
        if spec_type == "magnitude":
            spec = normalize_db(amplitude_to_db(spec), ref, floor).astype(np.float32)
        elif spec_type == "db":
            spec = normalize_db(spec, ref, floor).astype(np.float32)
        if fast:
            y = run_cnn(model, spec)
        else:
            if not hasattr(model, "input_shape"):
                raise InputError("fast=False needs a keras.Model, not a FastVocoder")
            y = run_cnn_keras(model, spec)
        return _fit_length(y, length)

    if spec_type == "normalized_db":
        mag = spec_to_magnitude(spec, cfg)
    elif spec_type == "db":
        mag = db_to_amplitude(spec)
    else:
        mag = spec
    mag = np.asarray(mag, dtype=np.float64)
    if length is None:
        length = (mag.shape[0] - 1) * hop
    if method == "griffinlim":
        return griffin_lim(mag, n_iter=n_iter, hop_length=hop, win_length=cfg["win_length"],
                           n_fft=cfg["n_fft"], momentum=momentum, length=length, seed=seed)
    return pghi(mag, hop_length=hop, n_fft=cfg["n_fft"], win_length=cfg["win_length"],
                length=length, tol_db=tol_db, seed=seed, refine_iter=refine_iter)


def _fit_length(y, length):
    if length is None:
        return y
    length = int(length)
    return y[:length] if len(y) >= length else np.pad(y, (0, length - len(y)))


def describe(config):
    """Short JSON of the analysis settings (for logs)."""
    keys = ("sr", "n_fft", "win_length", "hop_length", "ref_level_db", "min_level_db", "input")
    return json.dumps({k: config[k] for k in keys})
