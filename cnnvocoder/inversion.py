"""One interface for spectrogram inversion: CNN vocoder, Griffin-Lim, PGHI or PGHI + FGLA.

    from cnnvocoder.inversion import invert
    wav = invert(spec, "pghi")                       # normalised dB, 1025 bins
    wav = invert(spec, "pghi_fgla")                  # PGHI phase + fast Griffin-Lim
    wav = invert(spec, "pghi_fgla", refine_iter=32)  # more iterations than the default
    wav = invert(mag, "griffinlim", spec_type="magnitude", n_iter=100,
                 n_fft=1024, win_length=1024, hop_length=256)
    wav = invert(spec, "cnn", model="models/cnnvocoder/model.keras")
    model, config = load_vocoder("models/cnnvocoder/model.keras")
    fast = fast_vocoder(model)                       # compile once, reuse:
    wav = invert(spec, "cnn", model=fast, config=config)

``spec`` is time-major ``[frames, bins]``.  ``spec_type`` says what it holds:
``"normalized_db"`` (default: the [0, 1] mapping of ``cnnvocoder.features``
with ``ref_level_db``/``min_level_db``), ``"db"`` (20 log10 |X|) or
``"magnitude"`` (|X|).  The CNN method needs a trained model whose
configuration (n_fft, levels, linear or mel input) matches the spectrogram;
Griffin-Lim and PGHI need a linear spectrogram with ``n_fft//2+1`` bins.
Only the CNN method loads Keras (``cnnvocoder.inference``, on first use).
"""
from pathlib import Path

import numpy as np

from cnnvocoder.config import DEFAULT_CONFIG, n_input_bins
from cnnvocoder.features import check_spectrogram, spec_to_magnitude
from dsp.pghi import pghi
from dsp.audio import InputError
from dsp.spectral import amplitude_to_db, db_to_amplitude, griffin_lim, normalize_db

METHODS = ("cnn", "griffinlim", "pghi", "pghi_fgla")
# PGHI settings and the FGLA iteration count of "pghi_fgla", chosen by
# ``python -m cnnvocoder.tune_phase`` on the TRAINING clips of the fixed LJSpeech
# split only (LJ001-0001..0020; measurements in bench/results/phase_tuning.json)
PHASE_DEFAULTS = {"tol_db": 100.0, "declip": True, "max_excess_db": 8.0, "fallback_db": 5.0,
                  "fgla_iter": 16}
SPEC_TYPES = ("normalized_db", "db", "magnitude")


def _inference():
    """``cnnvocoder.inference`` (the CNN method), imported on first use."""
    # lazy: it imports Keras (~5 s); Griffin-Lim, PGHI and the CLIs' --help never need it
    from cnnvocoder import inference

    return inference


def load_vocoder(model_path):
    """(keras model, config) of a ``.keras`` checkpoint and the configuration saved
    beside it (``cnnvocoder.inference.load_vocoder``; loads Keras)."""
    return _inference().load_vocoder(model_path)


def fast_vocoder(model, config=None):
    """The compiled inference form of a keras model (``cnnvocoder.inference.fast_vocoder``):
    build it once and pass it as ``model=`` for repeated calls of :func:`invert`."""
    return _inference().fast_vocoder(model, config)


def invert(spec, method="pghi", *, spec_type="normalized_db", model=None, config=None,
           n_iter=32, momentum=0.99, tol_db=None, refine_iter=None, length=None, seed=0,
           fast=True, **stft_overrides):
    """Waveform from a spectrogram by the chosen method.

    Args:
        spec: [frames, bins] array (see ``spec_type``).
        method: "cnn", "griffinlim", "pghi" or "pghi_fgla" (PGHI phase, then
            ``refine_iter`` fast Griffin-Lim iterations).
        spec_type: "normalized_db" (default), "db" or "magnitude".
        model: FastVocoder (see :func:`fast_vocoder`), keras.Model or path
            of a ``.keras`` checkpoint (method "cnn").
        config: dict of analysis settings (n_fft, win_length, hop_length,
            ref_level_db, min_level_db, input); defaults to the model's
            stored configuration or ``cnnvocoder.config.DEFAULT_CONFIG``.
        n_iter, momentum: Griffin-Lim iterations (32) and momentum (0.99).
        tol_db: PGHI silence threshold below the peak in dB (None:
            ``PHASE_DEFAULTS["tol_db"]``).
        refine_iter: fast Griffin-Lim iterations after PGHI (None: 0 for
            "pghi", ``PHASE_DEFAULTS["fgla_iter"]`` for "pghi_fgla").
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
        cnn = _inference()
        if isinstance(model, (str, Path)):
            model, model_config = cnn.load_vocoder(model)
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
    if method == "cnn" and cnn.model_bins(model) != n_bins:
        raise InputError(f"model expects {cnn.model_bins(model)} bins but the configuration "
                         f"says {n_bins}")

    spec = check_spectrogram(spec, n_bins, kind=spec_type)
    ref, floor = cfg["ref_level_db"], cfg["min_level_db"]
    hop = int(cfg["hop_length"])

    if method == "cnn":
        if spec_type == "magnitude":
            spec = normalize_db(amplitude_to_db(spec), ref, floor).astype(np.float32)
        elif spec_type == "db":
            spec = normalize_db(spec, ref, floor).astype(np.float32)
        y = cnn.run_cnn(model, spec, cfg) if fast else cnn.run_cnn_keras(model, spec, cfg)
        return _fit_length(y, length)

    if spec_type == "normalized_db":
        mag = spec_to_magnitude(spec, cfg)
    elif spec_type == "db":
        mag = db_to_amplitude(spec)
    else:
        mag = spec
    mag = np.asarray(mag, dtype=np.float64)
    if mag.shape[0] < 2:  # frames are centred: one frame spans no samples between centres
        raise InputError(f"spectrogram: {mag.shape[0]} frame, {method} needs at least 2")
    if length is None:
        length = (mag.shape[0] - 1) * hop
    if method == "griffinlim":
        return griffin_lim(mag, n_iter=n_iter, hop_length=hop, win_length=cfg["win_length"],
                           n_fft=cfg["n_fft"], momentum=momentum, length=length, seed=seed)
    return _pghi(mag, method, cfg, length=length, tol_db=tol_db, seed=seed,
                 refine_iter=refine_iter)


def _pghi(mag, method, cfg, length, tol_db, seed, refine_iter):
    """PGHI ("pghi") or PGHI + FGLA ("pghi_fgla") of a [frames, bins] magnitude with the
    tuned defaults of ``PHASE_DEFAULTS`` for the arguments left None."""
    d = PHASE_DEFAULTS
    if refine_iter is None:
        refine_iter = d["fgla_iter"] if method == "pghi_fgla" else 0
    return pghi(mag, hop_length=int(cfg["hop_length"]), n_fft=cfg["n_fft"],
                win_length=cfg["win_length"], length=length,
                tol_db=d["tol_db"] if tol_db is None else tol_db, seed=seed,
                refine_iter=int(refine_iter), declip_plateaus=d["declip"],
                max_excess_db=d["max_excess_db"], fallback_db=d["fallback_db"])


def _fit_length(y, length):
    if length is None:
        return y
    length = int(length)
    return y[:length] if len(y) >= length else np.pad(y, (0, length - len(y)))

