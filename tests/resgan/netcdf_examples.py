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
