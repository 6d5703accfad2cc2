"""Small CURRENNT data files for the ResGAN tests: random arrays of the right shapes."""
import numpy as np

from resgan.netcdf import write_netcdf

RNG = np.random.default_rng(0)


def example_arrays(lengths=(5, 7, 4), tags=("utt_a", "utt_b", "äöü_c")):
    """``(inputs [n, 22], targets [n, 400], lengths, tags, stats)`` of random data."""
    n = sum(lengths)
    x = RNG.normal(size=(n, 22)).astype(np.float32)
    y = RNG.normal(size=(n, 400)).astype(np.float32)
    stats = dict(input_means=RNG.normal(size=22).astype(np.float32),
                 input_stdevs=RNG.uniform(0.5, 2, 22).astype(np.float32),
                 output_means=RNG.normal(size=400).astype(np.float32) * 0.01,
                 output_stdevs=RNG.uniform(0.01, 0.1, 400).astype(np.float32))
    return x, y, list(lengths), list(tags), stats


def write_two_files(folder):
    """``folder/data.nc1`` (utterances f0_0..f0_2: 5, 7, 4 frames) and ``data.nc2``
    (f1_0, f1_1: 9, 3 frames); returns their paths."""
    paths = []
    for k, lengths in enumerate(([5, 7, 4], [9, 3])):
        tags = [f"f{k}_{i}" for i in range(len(lengths))]
        x, y, _, _, stats = example_arrays(lengths=lengths, tags=tags)
        paths.append(write_netcdf(folder / f"data.nc{k + 1}", x, y, lengths, tags, **stats))
    return paths


def write_bump_files(folder, n_files, seed, n_utts=2, n_frames=40):
    """CURRENNT files whose pulses are Gaussian bumps of width set by input column 1, plus noise
    (80 rows a file: every base batch of 8 // 4 rows is full, so replicas split evenly)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(400) - 200
    zeros, ones = np.zeros(400, np.float32), np.ones(400, np.float32)
    for f in range(n_files):
        n = n_utts * n_frames
        x = rng.standard_normal((n, 22)).astype(np.float32)
        x[:, 21] = np.sign(x[:, 21])
        y = np.exp(-(t / (10.0 * np.exp(0.3 * x[:, 1:2]))) ** 2)
        y += 0.05 * rng.standard_normal((n, 400)) * np.hanning(400)
        write_netcdf(folder / f"data.nc{f + 1}", x, y.astype(np.float32), [n_frames] * n_utts,
                     [f"f{seed}u{f}_{i}" for i in range(n_utts)], np.zeros(22, np.float32),
                     np.ones(22, np.float32), zeros, ones)
