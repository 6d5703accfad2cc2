"""Feeding ResGAN's CURRENNT data to Keras: causal context and batches of pulses.

The NetCDF files themselves are read and written by ``resgan.netcdf``; this module
turns their rows into what the pulse model trains on: per frame, the causal
context of the last L frames of acoustic features ``[L, 22]`` and the frame's
400-sample pulse. Context is cut per batch, never copied L times into memory.
``PulseSequence`` draws each batch from one data file; ``EpochSlice`` (the batch
mixer, ``mixed_batches``) concatenates sub-batches of several files and bounds
the batches per epoch. Both are ``keras.utils.PyDataset``s (not ``tf.data``); the
batches of epoch e depend on (seed, e, batch index) only, and the epoch is set with
``set_epoch`` (by ``dsp.resume.EpochSync`` as each epoch of ``fit`` begins), never
counted from ``on_epoch_end`` calls: Keras makes one more at the start of ``fit``
than there are epochs, and a ``tf.distribute`` strategy peeks at batches.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import keras
import numpy as np

from dsp.audio import InputError
from resgan.netcdf import iterate_files, list_data_files, num_rows, read_netcdf, voiced_frames


def _frame_starts(seq_lengths) -> np.ndarray:
    """Per row, the first row of its utterance, int64 [N]."""
    lengths = np.asarray(seq_lengths, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.repeat(starts, lengths)


def context_rows(inputs, frame_starts, rows, context_len) -> np.ndarray:
    """Causal context for selected rows: [len(rows), L, D], zeros before an utterance start."""
    rows = np.asarray(rows, dtype=np.int64)
    idx = rows[:, None] + np.arange(-(context_len - 1), 1)[None, :]
    valid = idx >= frame_starts[rows][:, None]
    out = inputs[np.maximum(idx, 0)]
    out[~valid] = 0.0
    return out


def expand_context(inputs, seq_lengths, context_len: int) -> np.ndarray:
    """Causal context expansion for the recurrent layer.

    Args:
        inputs: [N, D] frames of several utterances, concatenated.
        seq_lengths: [S] frames per utterance (sums to N).
        context_len: L >= 1.

    Returns:
        [N, L, D]: row t holds frames t-L+1 ... t (oldest first), zero where that
        frame lies before the start of t's utterance (never crosses utterances).

    Example:
        >>> expand_context(np.arange(3.)[:, None], [2, 1], 2)[:, :, 0]
        array([[0., 0.], [0., 1.], [0., 2.]])
    """
    inputs = np.asarray(inputs)
    if context_len < 1:
        raise ValueError(f"context_len must be >= 1, got {context_len}")
    if int(np.sum(seq_lengths)) != inputs.shape[0]:
        raise ValueError(f"seq_lengths sum to {int(np.sum(seq_lengths))}, inputs has {inputs.shape[0]} rows")
    return context_rows(inputs, _frame_starts(seq_lengths), np.arange(inputs.shape[0]), context_len)


def iterate_utterances(files, context_len: int | None = None):
    """Yield ``(tag, inputs, targets)`` per utterance, one file in memory at a time.

    inputs is [n, 22], or [n, L, 22] with causal context when ``context_len`` is given;
    targets [n, 400] (de-normalised).
    """
    for data in iterate_files(files):
        for tag, x, y in data.utterances():
            yield tag, (x if context_len is None else expand_context(x, [x.shape[0]], context_len)), y


def load_inputs_only(path, context_len: int = 1) -> dict:
    """Inputs of every utterance of a file for generation: ``{tag: float32 [n_frames, L, 22]}``."""
    data = read_netcdf(path, inputs_only=True)
    return {tag: expand_context(x, [x.shape[0]], context_len)
            for tag, x, _ in data.utterances()}


class PulseSequence(keras.utils.PyDataset):
    """Batches of (context features, pulse) pairs from CURRENNT data files.

    Each batch comes from a single file; files are loaded on demand and kept in
    a small LRU cache bounded by ``cache_bytes`` (always at least one file), so
    a corpus larger than memory trains. Context is expanded per batch, per
    utterance (never across utterance boundaries), so nothing is copied L times.

    Args:
        files: list of data file paths (see ``list_data_files``).
        batch_size: int, default 128.
        context_len: int L, default 1.
        shuffle: bool, default True; shuffles the file order and the rows of
            each file, anew every epoch (deterministic for ``seed`` and the epoch
            of `set_epoch`).
        seed: int, default 0.
        cache_bytes: int, default 1 GiB; memory for loaded files.
        **kwargs: ``workers``, ``use_multiprocessing``, ``max_queue_size``.

    Yields:
        ``(x float32 [B, L, 22], y float32 [B, 400])``; y is de-normalised.

    Example:
        >>> seq = PulseSequence(list_data_files("traindata"), batch_size=64, context_len=4)
        >>> model.fit(seq, epochs=10, shuffle=False, callbacks=[dsp.resume.EpochSync(seq)])
    """

    def __init__(self, files, batch_size=128, context_len=1, shuffle=True, seed=0,
                 cache_bytes=1 << 30, **kwargs):
        super().__init__(**kwargs)
        self.files = [Path(f) for f in files]
        if not self.files:
            raise InputError("PulseSequence: no data files given")
        self.batch_size = int(batch_size)
        self.context_len = int(context_len)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.cache_bytes = int(cache_bytes)
        self.file_rows = [num_rows(f) for f in self.files]
        self._cache = OrderedDict()  # file index -> (NcData, frame_starts)
        self._lock = threading.Lock()
        self.epoch = 0
        self._build_index()

    def _build_index(self):
        order = np.arange(len(self.files))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        self._index = [(int(i), b) for i in order
                       for b in range(-(-self.file_rows[i] // self.batch_size))]
        self._perm = {}

    def __len__(self):
        return len(self._index)

    def _load(self, i):
        with self._lock:
            if i in self._cache:
                self._cache.move_to_end(i)
                return self._cache[i]
        data = read_netcdf(self.files[i])
        entry = (data, _frame_starts(data.seq_lengths))
        with self._lock:
            self._cache[i] = entry
            size = lambda e: e[0].inputs.nbytes + e[0].targets.nbytes  # noqa: E731
            while len(self._cache) > 1 and sum(size(e) for e in self._cache.values()) > self.cache_bytes:
                self._cache.popitem(last=False)
        return entry

    def _rows(self, i, b):
        n = self.file_rows[i]
        if self.shuffle:
            with self._lock:
                if i not in self._perm:
                    self._perm[i] = np.random.default_rng([self.seed, self.epoch, i]).permutation(n)
                perm = self._perm[i]
            return np.sort(perm[b * self.batch_size:(b + 1) * self.batch_size])
        return np.arange(b * self.batch_size, min(n, (b + 1) * self.batch_size))

    def __getitem__(self, idx):
        if idx < 0 or idx >= len(self._index):
            raise IndexError(f"batch {idx} out of range ({len(self._index)} batches)")
        i, b = self._index[idx]
        data, starts = self._load(i)
        rows = self._rows(i, b)
        x = context_rows(data.inputs, starts, rows, self.context_len)
        return x.astype(np.float32, copy=False), data.targets[rows]

    def set_epoch(self, epoch):
        """Serve the batches of ``epoch``: `dsp.resume.EpochSync` calls it as each epoch of
        ``fit`` begins.

        Args:
            epoch: int, 0-based.
        """
        epoch = int(epoch)
        if epoch != self.epoch:
            self.epoch = epoch
            self._build_index()

    def __getstate__(self):  # picklable for worker processes: no lock, empty cache
        state = self.__dict__.copy()
        state["_lock"], state["_cache"] = None, OrderedDict()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


# --------------------------------------------------------------------------- batch mixer

class EpochSlice(keras.utils.PyDataset):
    """At most ``steps`` random batches per epoch of a batch dataset, each
    batch the concatenation of ``mix`` base batches.

    ``PulseSequence`` draws each batch from one data file, and a packaged file
    holds a few utterances of one or two speakers; BatchNorm then normalises
    by one speaker's statistics at a time while its moving averages (used at
    inference) average over speakers. Mixing ``mix`` smaller base batches from
    randomly chosen files gives each training batch the corpus-wide statistics
    inference sees.

    Args:
        base: a PyDataset yielding ``(x, y)`` (e.g. ``PulseSequence`` with
            ``batch_size = batch // mix``).
        steps: int or None (all batches), batches per epoch.
        seed: int; the batch order is a fresh permutation every epoch.
        pulse_targets: bool; yield ``(x, {"wave": y, "spec": y})`` for the
            two-output pulse model.
        epoch: int, the epoch served until `set_epoch` is called.
        mix: int >= 1, base batches per batch (default 1).
    """

    def __init__(self, base, steps=None, seed=0, pulse_targets=False, epoch=0, mix=1, **kwargs):
        super().__init__(**kwargs)
        self.base = base
        self.steps = steps
        self.seed = seed
        self.pulse_targets = pulse_targets
        self.epoch = int(epoch)
        self.mix = max(1, int(mix))
        if hasattr(base, "set_epoch"):
            base.set_epoch(self.epoch)
        self._reorder()

    def _reorder(self):
        n = len(self.base)
        order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        n_batches = max(1, n // self.mix)
        if self.steps:
            n_batches = min(n_batches, self.steps)
        self._groups = [order[(k * self.mix) % n: (k * self.mix) % n + self.mix]
                        for k in range(n_batches)]

    def __len__(self):
        return len(self._groups)

    def __getitem__(self, i):
        parts = [self.base[int(j)] for j in self._groups[i]]
        x = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        y = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        return (x, {"wave": y, "spec": y}) if self.pulse_targets else (x, y)

    def set_epoch(self, epoch):
        """Serve the batches of ``epoch``, the base dataset's too (`dsp.resume.EpochSync`
        calls it as each epoch of ``fit`` begins).

        Args:
            epoch: int, 0-based.
        """
        self.epoch = int(epoch)
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(self.epoch)
        self._reorder()


def mixed_batches(files, args, seed, steps, epoch=0, pulse_targets=False):
    """:class:`EpochSlice` of ``--batch_size`` batches mixing ``--mix_files``
    base batches (one data file each) of ``--batch_size // --mix_files`` rows."""
    mix = max(1, min(getattr(args, "mix_files", 1), args.batch_size))
    seq = PulseSequence(files, batch_size=args.batch_size // mix,
                        context_len=args.rnn_context_len, seed=seed)
    return EpochSlice(seq, steps, seed, pulse_targets=pulse_targets, epoch=epoch, mix=mix)


def split_train_val(args):
    """Training files and the held-out file: the first file of ``--val_dir``
    when given, else the last training file when there are several, else the
    first test file."""
    files = list_data_files(args.data_dir, args.max_files)
    if getattr(args, "val_dir", None):
        return files, list_data_files(args.val_dir)[0]
    if len(files) > 1:
        return files[:-1], files[-1]
    return files, list_data_files(args.testdata_dir)[0]


def load_frames(path, context_len, max_frames=0, seed=0):
    """``(x [n, L, 22], y [n, 400], voiced [n] bool)`` of a data file; a random
    subset of ``max_frames`` frames (kept in order) when given."""
    data = read_netcdf(path)
    x = expand_context(data.inputs, data.seq_lengths, context_len)
    y = data.targets
    voiced = voiced_frames(data)
    if max_frames and len(x) > max_frames:
        keep = np.sort(np.random.default_rng(seed).choice(len(x), max_frames, replace=False))
        x, y, voiced = x[keep], y[keep], voiced[keep]
    return x.astype(np.float32), y.astype(np.float32), voiced
