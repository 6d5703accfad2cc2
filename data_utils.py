#!/usr/bin/env python
"""ResGAN training data: the CURRENNT NetCDF format (read, write, import) and its command line.

    python data_utils.py package --wav_dir data/synthetic/wav --out_dir traindata --test_dir testdata
    python data_utils.py package ... --shard I/N     # N jobs, I = 1..N, then:
    python data_utils.py merge --out_dir traindata --test_dir testdata
    python data_utils.py info traindata/data.nc1
    python data_utils.py import --src data/resgan --out_dir traindata --test_dir testdata

The format itself lives in ``resgan.netcdf``, the packaging of recordings in
``resgan.packaging`` (its shards and their merge in ``resgan.shards``); their
main names are importable from here (``data_utils.read_netcdf``,
``data_utils.write_netcdf``, ...). Feeding Keras
(``PulseSequence``, causal context) is ``resgan.dataset``. Nothing here imports
Keras, so ``info`` and ``--help`` answer quickly.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from dsp.audio import cli_main
from resgan.constants import CENTRE, INPUT_COLUMNS, LOG_F0_COLUMN, N_INPUTS, PULSE_LENGTH, VOICING_COLUMN
from resgan.gci import pulse_centring
from resgan.netcdf import (NcData, import_packaged, list_data_files, norm_stats, num_rows,
                           read_netcdf, write_netcdf)
from resgan.packaging import analyze_utterance, package
from resgan.shards import SHARD_DIR, merge, parse_shard

__all__ = ["INPUT_COLUMNS", "N_INPUTS", "PULSE_LENGTH", "NcData", "analyze_utterance",
           "import_packaged", "list_data_files", "merge", "norm_stats", "num_rows", "package",
           "read_netcdf", "write_netcdf", "build_parser", "main"]


def _info(path):
    data = read_netcdf(path)
    print(f"{path}: {len(data.seq_tags)} utterances, {data.inputs.shape[0]} frames")
    for k, v in data.attrs.items():
        print(f"  attr {k}: {v}")
    print(f"  inputs  {data.inputs.shape} (normalised): mean {data.inputs.mean():.3f} "
          f"std {data.inputs.std():.3f}")
    print(f"  targets {data.targets.shape} (de-normalised): mean {data.targets.mean():.4f} "
          f"std {data.targets.std():.4f} energy/row {np.mean(np.sum(data.targets ** 2, 1)):.3f}")
    raw = data.inputs * data.input_stdevs + data.input_means
    if raw.shape[1] == N_INPUTS:
        voiced = raw[:, VOICING_COLUMN] > 0.5
        f0 = np.exp(raw[voiced, LOG_F0_COLUMN]) if voiced.any() else np.array([np.nan])
        print(f"  voiced frames {voiced.mean() * 100:.1f} %, median F0 {np.median(f0):.1f} Hz, "
              f"c0 (energy dB) mean {raw[:, 0].mean():.1f}")
        c = pulse_centring(data.targets, voiced)
        if c["n_voiced"]:
            print(f"  voiced pulses: {c['within'] * 100:.1f} % peak within +-3 samples of index {CENTRE}, "
                  f"{c['positive'] * 100:.1f} % with a positive main peak, coherence {c['coherence']:.3f}")
    lengths = data.seq_lengths
    print(f"  utterance frames: min {lengths.min()} median {int(np.median(lengths))} max {lengths.max()}")
    print(f"  first tags: {', '.join(data.seq_tags[:5])}")


def add_package_arguments(parser):
    """The ``package`` subcommand's flags."""
    parser.add_argument("--wav_dir", type=Path, required=True,
                        help="folder of speech recordings (.wav/.flac, searched recursively; any rate, "
                             "resampled to 16 kHz)")
    parser.add_argument("--out_dir", type=Path, default=Path("traindata"), help="training data folder")
    parser.add_argument("--test_dir", type=Path, default=Path("testdata"), help="test data folder")
    parser.add_argument("--test_fraction", type=float, default=0.05,
                        help="fraction of utterances in the test split (default 0.05)")
    parser.add_argument("--files_per_nc", type=int, default=100,
                        help="utterances per data.ncK file (default 100)")
    parser.add_argument("--figures_every", type=int, default=50,
                        help="write a figure every N utterances (0: none; default 50)")
    parser.add_argument("--figures_dir", type=Path, default=Path("figures"))
    parser.add_argument("--fmin", type=float, default=60.0, help="lowest F0 searched (Hz)")
    parser.add_argument("--fmax", type=float, default=400.0, help="highest F0 searched (Hz)")
    parser.add_argument("--max_files", type=int, default=None, help="package only the first N files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for the analysis (default 1)")
    parser.add_argument("--skip_bad", action="store_true",
                        help="skip unusable files (corrupt, silent, too short) with a warning instead of stopping")
    parser.add_argument("--shard", metavar="I/N", default=None,
                        help="run as job I of N independent jobs (1-based: I = 1..N, e.g. a SLURM array "
                             "--array=1-N with --shard $SLURM_ARRAY_TASK_ID/N): analyse files I, I+N, I+2N, ... "
                             f"of the sorted list into OUT_DIR/{SHARD_DIR}/ and write no data.nc*; "
                             "when all N are done, `data_utils.py merge` writes the same files as one run")


def package_from_args(args):
    """Run `package` with the parsed ``package`` flags and print a summary."""
    shard = None if args.shard is None else parse_shard(args.shard)
    summary = package(args.wav_dir, args.out_dir, args.test_dir, args.test_fraction, args.files_per_nc,
                      args.figures_every, args.figures_dir, args.seed, args.fmin, args.fmax,
                      args.max_files, jobs=args.jobs, skip_bad=args.skip_bad, shard=shard)
    if shard is not None:
        print(f"packaged shard {shard[0]}/{shard[1]}: {summary['n_files']} utterance(s), "
              f"{len(summary['skipped'])} skipped ({summary['seconds']:.1f} s of audio) into "
              f"{summary['manifest'].parent}; when all {shard[1]} shards are done: python data_utils.py merge "
              f"--out_dir {args.out_dir} --test_dir {args.test_dir}")
    else:
        print_summary(summary, args.out_dir, args.test_dir)
    return summary


def print_summary(summary, out_dir, test_dir):
    """The last line of `package` and `merge`: what was written where, speed, pulse centring."""
    speed = summary["seconds"] / max(summary["cpu_seconds"], 1e-9)
    centred = "no voiced pulse" if np.isnan(summary["centred"]) else f"{summary['centred'] * 100:.1f} %"
    print(f"packaged {summary['n_train']} training utterances into {len(summary['train_files'])} "
          f"file(s) in {out_dir}, {summary['n_test']} test utterances into "
          f"{len(summary['test_files'])} file(s) in {test_dir}, {len(summary['skipped'])} skipped "
          f"({summary['seconds']:.1f} s of audio, {speed:.1f}x real time in CPU time, figures included); "
          f"voiced training pulses peaking within +-3 samples of the centre: {centred}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="data_utils.py",
        description="ResGAN data: package speech into CURRENNT NetCDF pulse data, or inspect a data file.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_package_arguments(sub.add_parser(
        "package", help="package a folder of wav files into data.nc1 ... data.ncK",
        description="Package speech recordings into ResGAN training data (inputs: 20 MFCC, "
                    "log F0, voicing; targets: 400-sample pitch-synchronous residual pulses)."))
    mrg = sub.add_parser("merge", help="merge the N shards of `package --shard I/N` into data.nc1 ... data.ncK",
                         description=f"Check that all N shards under OUT_DIR/{SHARD_DIR}/ are there and were "
                                     "made with the same settings, compute the global normalisation statistics "
                                     "and write data.nc1 ... data.ncK into both folders: the same files, byte "
                                     f"for byte, as one `package` run. Removes OUT_DIR/{SHARD_DIR}/ when done "
                                     "(a failed merge leaves it, to be run again).")
    mrg.add_argument("--out_dir", type=Path, default=Path("traindata"),
                     help=f"training data folder (holding {SHARD_DIR}/)")
    mrg.add_argument("--test_dir", type=Path, default=Path("testdata"), help="test data folder")
    imp = sub.add_parser("import", help="use already packaged NetCDF data (e.g. the original data.zip) as is",
                         description="Validate and copy packaged CURRENNT files: those under a folder named "
                                     "test* go to --test_dir, the others to --out_dir (as data.nc1 ...).")
    imp.add_argument("--src", type=Path, required=True, help="folder holding the unpacked *.nc files")
    imp.add_argument("--out_dir", type=Path, default=Path("traindata"))
    imp.add_argument("--test_dir", type=Path, default=Path("testdata"))
    info = sub.add_parser("info", help="print shapes and statistics of a data file")
    info.add_argument("files", nargs="+", type=Path, help="data.ncK file(s)")
    return parser


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "info":
        for path in args.files:
            _info(path)
    elif args.command == "import":
        done = import_packaged(args.src, args.out_dir, args.test_dir)
        print(f"imported {len(done['train'])} training file(s) into {args.out_dir}, "
              f"{len(done['test'])} test file(s) into {args.test_dir}")
    elif args.command == "merge":
        print_summary(merge(args.out_dir, args.test_dir), args.out_dir, args.test_dir)
    else:
        package_from_args(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
