"""Training and validation windows cut on the fly from the uint8 code array.

The original AudioRNN materialised every window: N x T float32 values (about
110 GB for an hour at 8 kHz with T = 1000).  Here a window is just its start
offset: a batch is gathered from the code array when it is requested, so
memory stays O(audio length) (one byte per sample plus a few per-file
integers).

A window starting at i is (X, y) = (codes[i:i+T], codes[i+T]), exactly the
original's pairs.  Windows never cross a file boundary.  Each file is split
into a training head and a contiguous validation tail (`val_fraction` of its
samples); a window lies wholly inside one of them, so no training window
touches validation samples.
"""
import math

import keras
import numpy as np


def original_windows(codes, timesteps):
    """The original scheme, for reference and tests: all (X, y) pairs in memory.

    Returns X [N, T] and y [N] with N = len(codes) - T.
    """
    n = len(codes) - timesteps
    X = np.stack([codes[i:i + timesteps] for i in range(n)])
    y = np.array([codes[i + timesteps] for i in range(n)])
    return X, y


class WindowIndex:
    """Maps window numbers 0..N-1 to start offsets inside a set of segments.

    Args:
        seg_starts: int [n_segments], absolute start of each segment.
        seg_stops: int [n_segments], absolute end (exclusive).
        timesteps: int T; a segment of length L holds max(0, L - T) windows.
    """

    def __init__(self, seg_starts, seg_stops, timesteps):
        self.timesteps = int(timesteps)
        starts = np.asarray(seg_starts, dtype=np.int64)
        counts = np.maximum(np.asarray(seg_stops, dtype=np.int64) - starts - self.timesteps, 0)
        keep = counts > 0
        self.seg_starts = starts[keep]
        self.counts = counts[keep]
        self.cum = np.cumsum(self.counts)  # windows in segments 0..j inclusive

    def __len__(self):
        return int(self.cum[-1]) if len(self.cum) else 0

    def starts(self, k):
        """Absolute start offsets of windows number k (int array)."""
        k = np.asarray(k, dtype=np.int64)
        seg = np.searchsorted(self.cum, k, side="right")
        before = np.where(seg > 0, self.cum[np.maximum(seg - 1, 0)], 0)
        return self.seg_starts[seg] + (k - before)

    def covered(self):
        """(start, stop) sample ranges touched by the windows, one per segment."""
        return [(int(s), int(s + c + self.timesteps)) for s, c in zip(self.seg_starts, self.counts)]


def split_train_val(file_starts, file_lengths, timesteps, val_fraction=0.1):
    """Per-file split into a training head and a contiguous validation tail.

    Returns (train_index, val_index) as WindowIndex objects.  A file whose
    tail is shorter than T + 1 samples contributes no validation windows.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    starts = np.asarray(file_starts, dtype=np.int64)
    lengths = np.asarray(file_lengths, dtype=np.int64)
    n_val = np.rint(lengths * val_fraction).astype(np.int64)
    boundary = starts + lengths - n_val
    return (WindowIndex(starts, boundary, timesteps),
            WindowIndex(boundary, starts + lengths, timesteps))


def gather_windows(codes, starts, timesteps, warmup=None, input_noise=0, rng=None):
    """Batch of windows: X float32 [B, T, 1] (codes / 255) and their targets.

    Args:
        warmup: None for the original targets, y int32 [B] = the code after each
            window; an int for a model with targets "all" (model.build_model):
            y int32 [B, T - warmup], the code after each step from step `warmup` on.
        input_noise: int k >= 0; each input code is moved by a uniform integer in
            [-k, k] (clipped to 0..255) while the targets stay clean, so the network
            learns to predict the clean next sample from a context as imperfect as
            its own samples at generation (LPCNet's noise injection).
        rng: numpy Generator of that noise (needed when input_noise > 0).
    """
    starts = np.asarray(starts, dtype=np.int64)
    idx = starts[:, None] + np.arange(timesteps, dtype=np.int64)[None, :]
    inputs = codes[idx]
    if input_noise:
        noise = rng.integers(-int(input_noise), int(input_noise) + 1, size=inputs.shape)
        inputs = np.clip(inputs.astype(np.int16) + noise, 0, 255)
    X = inputs.astype(np.float32) * np.float32(1.0 / 255.0)
    if warmup is None:
        y = codes[starts + timesteps].astype(np.int32)
    else:
        y = codes[idx[:, int(warmup):] + 1].astype(np.int32)
    return X[..., None], y


class TrainWindows(keras.utils.PyDataset):
    """Shuffled training batches, cut on request.

    The order is a fresh affine permutation k -> (a k + b) mod N of the N
    window numbers on every pass over the data (a coprime with N), which
    visits each window exactly once per pass with O(1) memory.  With
    `steps_per_epoch` an epoch is that many batches and successive epochs
    continue through the pass; without it an epoch is one pass.  The batch
    for (epoch, step) is a pure function of the seed, so a resumed run sees
    the same data as an uninterrupted one (`set_epoch`, done by `dsp.resume.EpochSync`).

    Args:
        codes: uint8 [n] code array.
        index: WindowIndex of the training windows.
        batch_size: int.
        steps_per_epoch: int or None.
        seed: int.
        warmup: None (one target per window) or int (targets after every step
            from `warmup` on, see gather_windows).
        input_noise: int, noise injected into the input codes (see gather_windows),
            drawn from (seed, epoch, step) so a resumed run sees the same batches.
    """

    def __init__(self, codes, index, batch_size, steps_per_epoch=None, seed=0, warmup=None,
                 input_noise=0, **kwargs):
        super().__init__(**kwargs)
        if len(index) == 0:
            raise ValueError("no training windows: every file is shorter than timesteps + 1 samples")
        self.codes, self.index = codes, index
        self.batch_size = int(batch_size)
        self.n = len(index)
        self.steps = int(steps_per_epoch) if steps_per_epoch else math.ceil(self.n / self.batch_size)
        self.seed = int(seed)
        self.warmup = warmup
        self.input_noise = int(input_noise or 0)
        self.epoch = 0
        self._perm = {}

    def __len__(self):
        return self.steps

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def _affine(self, pass_number):
        """(a, b) of the permutation used on pass `pass_number` (a coprime with N)."""
        if pass_number not in self._perm:
            rng = np.random.default_rng([self.seed, pass_number])
            a = 1
            if self.n > 2:
                a = int(rng.integers(2, self.n))
                while math.gcd(a, self.n) != 1:
                    a = int(rng.integers(2, self.n))
            self._perm = {pass_number: (a, int(rng.integers(0, self.n)))}
        return self._perm[pass_number]

    def window_numbers(self, step):
        """Window numbers of batch `step` of the current epoch."""
        pos = (self.epoch * self.steps + step) * self.batch_size + np.arange(self.batch_size, dtype=np.int64)
        out = np.empty_like(pos)
        passes = pos // self.n
        for p in np.unique(passes):
            a, b = self._affine(int(p))
            sel = passes == p
            out[sel] = (a * (pos[sel] % self.n) + b) % self.n
        return out

    def __getitem__(self, step):
        rng = np.random.default_rng([self.seed, self.epoch, step, 1]) if self.input_noise else None
        return gather_windows(self.codes, self.index.starts(self.window_numbers(step)),
                              self.index.timesteps, self.warmup, self.input_noise, rng)


class EvalWindows(keras.utils.PyDataset):
    """Deterministic validation batches: at most `max_windows` windows evenly spread.

    Args:
        codes: uint8 [n]; index: WindowIndex; batch_size: int; max_windows: int or None;
        warmup: as TrainWindows.
    """

    def __init__(self, codes, index, batch_size, max_windows=None, warmup=None, **kwargs):
        super().__init__(**kwargs)
        n = len(index)
        if n == 0:
            raise ValueError("no validation windows: every file's validation tail is shorter "
                             "than timesteps + 1 samples (raise --val_fraction or lower --timesteps)")
        m = n if not max_windows else min(n, int(max_windows))
        self.numbers = np.unique(np.linspace(0, n - 1, m).round().astype(np.int64))
        self.codes, self.index, self.batch_size = codes, index, int(batch_size)
        self.warmup = warmup

    def __len__(self):
        return math.ceil(len(self.numbers) / self.batch_size)

    def __getitem__(self, step):
        k = self.numbers[step * self.batch_size:(step + 1) * self.batch_size]
        return gather_windows(self.codes, self.index.starts(k), self.index.timesteps, self.warmup)
