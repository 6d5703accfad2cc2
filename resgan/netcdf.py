"""The CURRENNT NetCDF data format of ResGAN: read, write, validate, import.

The lowest layer of the pipeline: numpy, scipy and netCDF4 only (no Keras), so
that reading, inspecting and packaging data start quickly.

A data file (``data.nc1`` ... ``data.ncK``) holds a set of utterances, one row
per 5 ms acoustic frame, in the layout of the CURRENNT toolkit:

=================  ==============================  ==========================
variable           shape                           meaning
=================  ==============================  ==========================
``inputs``         [numTimesteps, inputPattSize]   acoustic features, z-normalised
``targetPatterns`` [numTimesteps, targetPattSize]  400-sample excitation pulses, z-normalised
``seqLengths``     [numSeqs]                       frames per utterance
``seqTags``        [numSeqs, maxSeqTagLength]      utterance names (UTF-8 chars)
``inputMeans``     [inputPattSize]                 z-normalisation statistics
``inputStdevs``    [inputPattSize]
``outputMeans``    [targetPattSize]
``outputStdevs``   [targetPattSize]
=================  ==============================  ==========================

Input columns (inputPattSize = 22), as written by ``python data_utils.py package``:
0..19 the 20 MFCCs of get_mfcc.py (column 0 = c0 = frame energy in dB),
20 log F0 (natural log of Hz, linearly interpolated over unvoiced frames),
21 voicing flag (1 voiced, 0 unvoiced). Targets (targetPattSize = 400) are
pitch-synchronous residual pulses centred at sample 200 (see resgan.packaging).

On load, targets are de-normalised (the convolutional models need waveforms)
while inputs stay normalised. Files are written as NETCDF3_CLASSIC so that
scipy.io.netcdf_file, netCDF4 and CURRENNT can all read them. Feeding the rows
to Keras (causal context, ``PulseSequence``) is in ``resgan.dataset``; the
command line (``python data_utils.py package|info|import``) is data_utils.py.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import netCDF4
import numpy as np
from scipy.io import netcdf_file

from dsp.audio import InputError, atomic_output, check_input_file
from resgan.constants import VOICING_COLUMN

_VARIABLES = ("inputs", "targetPatterns", "seqLengths", "seqTags",
              "inputMeans", "inputStdevs", "outputMeans", "outputStdevs")
_STATS = ("inputMeans", "inputStdevs", "outputMeans", "outputStdevs")


@dataclass
class NcData:
    """One CURRENNT data file in memory.

    Args:
        inputs: float32 [N, 22], z-normalised features (one row per frame).
        targets: float32 [N, 400], de-normalised pulses (waveform samples).
        seq_lengths: int64 [S], frames per utterance (sums to N).
        seq_tags: list of S utterance names.
        input_means, input_stdevs: float32 [22].
        output_means, output_stdevs: float32 [400].
        path: the file it was read from (None if built in memory).
        attrs: global attributes of the file (str -> str/number).
    """

    inputs: np.ndarray
    targets: np.ndarray | None
    seq_lengths: np.ndarray
    seq_tags: list
    input_means: np.ndarray
    input_stdevs: np.ndarray
    output_means: np.ndarray
    output_stdevs: np.ndarray
    path: Path | None = None
    attrs: dict = field(default_factory=dict)

    @property
    def seq_starts(self) -> np.ndarray:
        """First row of each utterance, int64 [S]."""
        return np.concatenate([[0], np.cumsum(self.seq_lengths)[:-1]]).astype(np.int64)

    def utterances(self):
        """Yield ``(tag, inputs [n, 22], targets [n, 400] or None)`` per utterance."""
        for tag, start, n in zip(self.seq_tags, self.seq_starts, self.seq_lengths):
            tgt = None if self.targets is None else self.targets[start:start + n]
            yield tag, self.inputs[start:start + n], tgt


# --------------------------------------------------------------------------- reading

def _decode_tags(chars: np.ndarray) -> list:
    """seqTags char matrix [numSeqs, maxSeqTagLength] -> list of str (NUL-terminated)."""
    chars = np.asarray(chars)
    if chars.ndim == 1:  # a single tag stored without the second dimension
        chars = chars[None, :]
    if chars.dtype.kind == "U" or (chars.dtype.kind == "S" and chars.dtype.itemsize > 1):
        # already joined into strings (e.g. netCDF4 with auto char-to-string)
        return [(c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)).rstrip("\0")
                for c in chars.reshape(-1)]
    raw = chars.view(np.uint8) if chars.dtype.kind == "S" else chars.astype(np.uint8)
    return [bytes(row).split(b"\0", 1)[0].decode("utf-8", errors="replace") for row in raw]


def _read_variables(path: Path, names) -> tuple[dict, dict, dict]:
    """Read variables ``names`` (those present), dimensions and global attributes.

    scipy.io.netcdf_file handles NETCDF3 (classic / 64-bit offset); anything
    else (e.g. a NETCDF4/HDF5 file) is read with netCDF4.
    """
    check_input_file(path, "a NetCDF file", missing="no such file")
    try:
        return _read_scipy(path, names)
    except InputError:
        raise
    except Exception as scipy_error:  # not NETCDF3: try netCDF4
        try:
            return _read_netcdf4(path, names)
        except Exception as nc4_error:
            raise InputError(f"{path}: not a readable NetCDF file "
                             f"(scipy: {scipy_error}; netCDF4: {nc4_error})") from None


def _read_scipy(path, names):
    f = netcdf_file(str(path), "r", mmap=True)
    try:
        out = {}
        for name in names:
            if name in f.variables:
                out[name] = np.array(f.variables[name].data)  # copy out of the mmap
        dims = {k: v for k, v in f.dimensions.items()}
        attrs = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                 for k, v in f._attributes.items()}
    finally:
        f.close()
    return out, dims, attrs


def _read_netcdf4(path, names):
    with netCDF4.Dataset(str(path), "r") as ds:
        out = {}
        for name in names:
            if name in ds.variables:
                var = ds.variables[name]
                var.set_auto_mask(False)
                var.set_auto_chartostring(False)
                out[name] = np.array(var[:])
        dims = {k: len(v) for k, v in ds.dimensions.items()}
        attrs = {k: ds.getncattr(k) for k in ds.ncattrs()}
    return out, dims, attrs


def _check_finite(path, name, a):
    bad = ~np.isfinite(a)
    if bad.any():
        first = int(np.argwhere(bad)[0][0])
        raise InputError(f"{path}: {name}: contains NaN or Inf (first at index {first})")


def _validate(path, v, need_targets=True):
    for name in _VARIABLES:
        if name == "targetPatterns" and not need_targets:
            continue
        if name not in v:
            raise InputError(f"{path}: {name}: missing variable")
    inputs = v["inputs"]
    if inputs.ndim != 2:
        raise InputError(f"{path}: inputs: expected 2 dimensions, got shape {inputs.shape}")
    n_rows = inputs.shape[0]
    lengths = v["seqLengths"].astype(np.int64).reshape(-1)
    if (lengths < 0).any():
        raise InputError(f"{path}: seqLengths: negative length")
    if int(lengths.sum()) != n_rows:
        raise InputError(f"{path}: seqLengths: lengths sum to {int(lengths.sum())} "
                         f"but inputs has {n_rows} rows")
    if need_targets:
        tgt = v["targetPatterns"]
        if tgt.ndim != 2 or tgt.shape[0] != n_rows:
            raise InputError(f"{path}: targetPatterns: {tgt.shape[0] if tgt.ndim else 0} rows "
                             f"but inputs has {n_rows} rows")
    for name, width in (("inputMeans", inputs.shape[1]), ("inputStdevs", inputs.shape[1])):
        if v[name].reshape(-1).shape[0] != width:
            raise InputError(f"{path}: {name}: length {v[name].size} != {width} input columns")
    if need_targets:
        width = v["targetPatterns"].shape[1]
        for name in ("outputMeans", "outputStdevs"):
            if v[name].reshape(-1).shape[0] != width:
                raise InputError(f"{path}: {name}: length {v[name].size} != {width} target columns")
    for name in v:
        if name != "seqTags":
            _check_finite(path, name, v[name])
    return lengths


def read_netcdf(path, inputs_only: bool = False) -> NcData:
    """Read one CURRENNT data file (scipy- or netCDF4-written).

    Args:
        path: str or Path of the ``.nc`` file.
        inputs_only: bool, default False; skip ``targetPatterns`` (``targets`` is None).

    Returns:
        NcData with normalised inputs and DE-normalised targets
        (``targetPatterns * outputStdevs + outputMeans``), all float32.

    Raises:
        dsp.audio.InputError: ``"<path>: <variable>: <problem>"`` for a missing
        variable, mismatched row counts or NaN/Inf values; ``"<path>: ..."`` for
        a missing or unreadable file.
    """
    path = Path(path)
    names = [n for n in _VARIABLES if not (inputs_only and n == "targetPatterns")]
    v, _, attrs = _read_variables(path, names)
    lengths = _validate(path, v, need_targets=not inputs_only)
    tags = _decode_tags(v["seqTags"])
    if len(tags) != lengths.shape[0]:
        raise InputError(f"{path}: seqTags: {len(tags)} tags but {lengths.shape[0]} sequences")
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32).reshape(-1)  # noqa: E731
    out_means, out_std = f32(v["outputMeans"]), f32(v["outputStdevs"])
    targets = None
    if not inputs_only:
        targets = v["targetPatterns"].astype(np.float32, copy=False)
        targets = targets * out_std[None, :] + out_means[None, :]
    return NcData(
        inputs=np.ascontiguousarray(v["inputs"], dtype=np.float32),
        targets=targets,
        seq_lengths=lengths,
        seq_tags=tags,
        input_means=f32(v["inputMeans"]), input_stdevs=f32(v["inputStdevs"]),
        output_means=out_means, output_stdevs=out_std,
        path=path, attrs=attrs,
    )


def num_rows(path) -> int:
    """Number of frames (numTimesteps) of a data file, from its header only."""
    path = Path(path)
    v, dims, _ = _read_variables(path, ("seqLengths",))
    if "seqLengths" not in v:
        raise InputError(f"{path}: seqLengths: missing variable")
    return int(v["seqLengths"].astype(np.int64).sum())


def voiced_frames(data):
    """``[n] bool``: the voicing flag of a data file's frames (its inputs are normalised)."""
    v = VOICING_COLUMN
    return data.inputs[:, v] * data.input_stdevs[v] + data.input_means[v] > 0.5


def norm_stats(path) -> dict:
    """z-normalisation statistics of a data file.

    Returns:
        dict with float32 arrays ``input_means``, ``input_stdevs`` [22] and
        ``output_means``, ``output_stdevs`` [400].
    """
    path = Path(path)
    v, _, _ = _read_variables(path, _STATS)
    out = {}
    for name, key in zip(_STATS, ("input_means", "input_stdevs", "output_means", "output_stdevs")):
        if name not in v:
            raise InputError(f"{path}: {name}: missing variable")
        _check_finite(path, name, v[name])
        out[key] = v[name].astype(np.float32).reshape(-1)
    return out


def iterate_files(files, inputs_only: bool = False):
    """Yield one NcData per file, holding only one file in memory at a time."""
    for path in files:
        yield read_netcdf(path, inputs_only=inputs_only)


# --------------------------------------------------------------------------- writing

def write_netcdf(path, inputs_norm, targets_norm, seq_lengths, seq_tags,
                 input_means, input_stdevs, output_means, output_stdevs, attrs=None):
    """Write a CURRENNT data file (NETCDF3_CLASSIC, atomically: temp file + rename).

    Args:
        path: output path, e.g. ``traindata/data.nc1``.
        inputs_norm: [N, 22] z-normalised inputs.
        targets_norm: [N, 400] z-normalised targets.
        seq_lengths: [S] frames per utterance, summing to N.
        seq_tags: S utterance names (str).
        input_means, input_stdevs: [22]; output_means, output_stdevs: [400].
        attrs: optional dict of global attributes (str -> str/int/float).
    """
    path = Path(path)
    inputs_norm = np.asarray(inputs_norm, dtype=np.float32)
    targets_norm = np.asarray(targets_norm, dtype=np.float32)
    seq_lengths = np.asarray(seq_lengths, dtype=np.int32).reshape(-1)
    tags = [t.encode("utf-8") for t in seq_tags]
    if inputs_norm.ndim != 2 or targets_norm.ndim != 2 or inputs_norm.shape[0] != targets_norm.shape[0]:
        raise InputError(f"{path}: inputs {inputs_norm.shape} and targets {targets_norm.shape} "
                         "must be 2-D with the same number of rows")
    if int(seq_lengths.sum()) != inputs_norm.shape[0] or len(tags) != seq_lengths.shape[0]:
        raise InputError(f"{path}: seqLengths: {len(tags)} tags / lengths summing to "
                         f"{int(seq_lengths.sum())} do not match {inputs_norm.shape[0]} rows")
    max_tag = max([len(t) for t in tags] + [1]) + 1
    tag_chars = np.zeros((len(tags), max_tag), dtype="S1")
    for i, t in enumerate(tags):
        tag_chars[i, :len(t)] = np.frombuffer(t, dtype="S1")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        f = netcdf_file(str(tmp), "w", version=1)
        try:
            f.createDimension("numSeqs", len(tags))
            f.createDimension("numTimesteps", inputs_norm.shape[0])
            f.createDimension("inputPattSize", inputs_norm.shape[1])
            f.createDimension("targetPattSize", targets_norm.shape[1])
            f.createDimension("maxSeqTagLength", max_tag)
            f.createVariable("seqTags", "c", ("numSeqs", "maxSeqTagLength"))[:] = tag_chars
            f.createVariable("seqLengths", "i", ("numSeqs",))[:] = seq_lengths
            f.createVariable("inputs", "f", ("numTimesteps", "inputPattSize"))[:] = inputs_norm
            f.createVariable("targetPatterns", "f", ("numTimesteps", "targetPattSize"))[:] = targets_norm
            for name, a, dim in (("inputMeans", input_means, "inputPattSize"),
                                 ("inputStdevs", input_stdevs, "inputPattSize"),
                                 ("outputMeans", output_means, "targetPattSize"),
                                 ("outputStdevs", output_stdevs, "targetPattSize")):
                f.createVariable(name, "f", (dim,))[:] = np.asarray(a, dtype=np.float32).reshape(-1)
            for key, value in (attrs or {}).items():
                setattr(f, key, value)
        finally:
            f.close()
    return path


# --------------------------------------------------------------------------- folders

def list_data_files(data_dir, max_files=None) -> list:
    """``data.nc1 ... data.ncK`` in ``data_dir``, in natural order (nc2 before nc10)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: no such directory")
    files = [p for p in data_dir.iterdir() if re.fullmatch(r"data\.nc\d+", p.name)]
    files.sort(key=lambda p: int(p.name[len("data.nc"):]))
    if not files:
        raise InputError(f"{data_dir}: no data.nc1 ... data.ncK files")
    return files[:max_files] if max_files else files


# --------------------------------------------------------------------------- import

def import_packaged(src, out_dir="traindata", test_dir="testdata") -> dict:
    """Use already packaged CURRENNT data (e.g. the original ResGAN data.zip) as is.

    Every ``*.nc*`` file under ``src`` is checked (all variables, row counts,
    NaN) and copied to ``test_dir`` when a folder on its path is named like
    ``test*``, else to ``out_dir``, renamed data.nc1 ... data.ncK in natural order.
    Old data.nc* files in the destinations are replaced.

    Returns:
        {"train": [paths], "test": [paths]}.
    """
    src = Path(src)
    if not src.is_dir():
        raise InputError(f"{src}: no such directory")
    key = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))]  # noqa: E731
    found = sorted((p for p in src.rglob("*.nc*") if p.is_file() and not p.name.startswith(".")), key=key)
    if not found:
        raise InputError(f"{src}: no NetCDF (*.nc*) files in this folder or below")
    splits = {"train": [], "test": []}
    for p in found:
        read_netcdf(p)  # validates; raises InputError naming the file and variable
        is_test = any(part.lower().startswith("test") for part in p.relative_to(src).parts[:-1])
        splits["test" if is_test else "train"].append(p)
    if not splits["train"]:
        raise InputError(f"{src}: only test files found (folders named test*), no training files")
    out = {}
    for split, target in (("train", Path(out_dir)), ("test", Path(test_dir))):
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob("data.nc*"):
            old.unlink()
        out[split] = []
        for k, p in enumerate(splits[split], start=1):
            with atomic_output(target / f"data.nc{k}") as tmp:
                shutil.copyfile(p, tmp)
            out[split].append(target / f"data.nc{k}")
    return out
