"""Split audio folders into train / validation / test folders of symbolic links, by file or speaker.

    python -m corpus.split --out_dir runs/split SRC [SRC ...] [--val 0.05 --test 0.05]
        [--speaker_regex '^\\d+_([a-z]+)_' --val_speakers theo --test_speakers jackson] [--seed 0]

Every audio file under each SRC folder (recursively) goes to exactly one of
OUT/train/<SRC name>/..., OUT/val/<SRC name>/... and OUT/test/<SRC name>/...,
as a symbolic link to the original, so any trainer that reads a folder can
train on one and validate on another without copying data.  Files whose name
matches --speaker_regex are split by speaker (the regex's first group): the
--val_speakers and --test_speakers go wholly to validation and test, the
others to training.  The remaining files are shuffled with --seed and the
--val and --test fractions of each SRC are held out.  OUT/split.json lists
every file's part.  OUT is written under a temporary name and renamed, so it
is complete or absent; an existing OUT is refused (remove it to split again).
"""
import argparse
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

from corpus.readers import list_wavs
from dsp.audio import InputError, cli_main

PARTS = ("train", "val", "test")


def assign_parts(files, val=0.05, test=0.05, seed=0, speaker_regex=None,
                 val_speakers=(), test_speakers=()):
    """Part ("train", "val" or "test") of each file name.

    Args:
        files: list of str, file names (relative paths) of one source folder.
        val, test: fractions of the files without a matched speaker to hold out.
        seed: int, shuffles those files.
        speaker_regex: str or None; its first group is a file's speaker.
        val_speakers, test_speakers: speakers held out wholly.
    Returns:
        dict file -> part.
    """
    if set(val_speakers) & set(test_speakers):
        raise InputError(f"speakers both in validation and test: "
                         f"{sorted(set(val_speakers) & set(test_speakers))}")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise InputError(f"--val {val} and --test {test} must be in [0, 1) with a sum below 1")
    pattern = re.compile(speaker_regex) if speaker_regex else None
    parts, rest = {}, []
    for f in sorted(files):
        match = pattern.search(Path(f).name) if pattern else None
        if match is None:
            rest.append(f)
        elif match.group(1) in val_speakers:
            parts[f] = "val"
        elif match.group(1) in test_speakers:
            parts[f] = "test"
        else:
            parts[f] = "train"
    order = np.random.default_rng(seed).permutation(len(rest))
    n_val, n_test = int(round(val * len(rest))), int(round(test * len(rest)))
    for rank, i in enumerate(order):
        parts[rest[i]] = "val" if rank < n_val else "test" if rank < n_val + n_test else "train"
    return parts


def build_parser():
    p = argparse.ArgumentParser(prog="python -m corpus.split", description=__doc__.split("\n\n")[0],
                                epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", help="audio folders (searched recursively)")
    p.add_argument("--out_dir", required=True, help="folder to create with train/, val/, test/")
    p.add_argument("--val", type=float, default=0.05, help="held-out fraction for validation")
    p.add_argument("--test", type=float, default=0.05, help="held-out fraction for test")
    p.add_argument("--speaker_regex", default=None,
                   help="regex on file names whose first group is the speaker")
    p.add_argument("--val_speakers", nargs="*", default=[], help="speakers held out for validation")
    p.add_argument("--test_speakers", nargs="*", default=[], help="speakers held out for test")
    p.add_argument("--seed", type=int, default=0, help="seed of the file shuffle")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    out = Path(args.out_dir)
    if out.exists():
        raise InputError(f"{out}: already exists (remove it to split again)")
    names = [Path(s).resolve().name for s in args.sources]
    if len(set(names)) != len(names):
        raise InputError(f"source folders must have different names, got {names}")
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    listing = {}
    try:
        for source, name in zip(args.sources, names):
            root = Path(source).resolve()
            files = [str(p.relative_to(root)) for p in list_wavs(root)]
            parts = assign_parts(files, args.val, args.test, args.seed, args.speaker_regex,
                                 args.val_speakers, args.test_speakers)
            for f, part in parts.items():
                link = tmp / part / name / f
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(root / f)
            listing[name] = {"source": str(root), "files": parts}
            counts = {part: sum(v == part for v in parts.values()) for part in PARTS}
            print(f"{name}: " + ", ".join(f"{counts[p]} {p}" for p in PARTS))
        (tmp / "split.json").write_text(json.dumps({"settings": {
            k: v for k, v in vars(args).items() if k != "out_dir"}, "sources": listing}, indent=1))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {out}/{{train,val,test}} and {out}/split.json")


if __name__ == "__main__":
    main()
