"""Sharded ResGAN packaging: the per-utterance intermediate results and their merge.

``python data_utils.py package ... --shard I/N`` (I = 1..N) analyses files I, I+N,
I+2N, ... (1-based) of the sorted global file list and writes, under
``OUT_DIR/shards/`` (no Keras):

* ``I-of-N/<k>.npz`` per utterance (k = its index in the global list): ``inputs``
  [n, 22] and ``targets`` [n, 400] (float32, not normalised) and the float64 column
  sums and sums of squares of both, the sufficient statistics of the normalisation;
* ``I-of-N.json``, the shard's manifest, written last: the settings, a digest of the
  global file list, and one record per utterance (tag, samples, voiced and centred
  pulse counts, or the error of a skipped file).

Every file is written atomically (``dsp.audio.atomic_output``), so a killed job
leaves no half file and no manifest: ``merge`` then names its shard as missing.

``python data_utils.py merge --out_dir O --test_dir T`` (:func:`merge`) checks that
the N manifests are there and agree, decides the train/test split from the global
file list and seed, adds the per-utterance sums in global file order (exactly as
one-shot packaging does, so the statistics are bit-identical), writes
``data.nc1 ... data.ncK`` into both folders and removes ``OUT_DIR/shards``. One-shot
``package`` is the same code: one shard 1/1 in a temporary folder, then
:func:`merge_folder`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from dsp.audio import InputError, atomic_output, write_json
from dsp.mfcc import MfccConfig
from resgan.constants import F0_METHOD, INPUT_COLUMNS, N_INPUTS, PULSE_LENGTH, SAMPLE_RATE
from resgan.netcdf import list_data_files, write_netcdf

SHARD_DIR = "shards"     # under OUT_DIR
FORMAT = 1               # version of the intermediate results
_MANIFEST_KEYS = ("shard", "settings", "n_files", "files_sha256", "tags_sha256", "records", "cpu_seconds", "wav_dir")
_SHARD_HELP = "expected I/N with N >= 1 and 1 <= I <= N (1-based, e.g. --shard 1/4)"


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with 1 <= I <= N; InputError (one line) otherwise."""
    m = re.fullmatch(r"(\d+)/(\d+)", str(text))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise InputError(f"--shard: {_SHARD_HELP}, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def shard_indices(n_files: int, shard: tuple[int, int]) -> range:
    """Global indices of the files of shard (I, N): a stride, I-1, I-1+N, ..."""
    i, n = shard
    return range(i - 1, n_files, n)


def shard_name(shard: tuple[int, int]) -> str:
    """``"I-of-N"``: the shard's folder and (with .json) manifest name."""
    return f"{shard[0]}-of-{shard[1]}"


def list_digest(lines: list) -> str:
    """sha256 of a list of strings (one per line)."""
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def files_digest(wavs: list, wav_dir) -> str:
    """sha256 of the global file list: path below ``wav_dir`` and size of every file (so that
    two corpora with the same names, e.g. two ARCTIC voices, do not pass for one)."""
    return list_digest([f"{Path(w).relative_to(wav_dir).as_posix()}\t{Path(w).stat().st_size}" for w in wavs])


def split_tags(tags: list, test_fraction: float, seed: int):
    """(train_tags, test_tags), each in input order; at least one of each when possible."""
    n = len(tags)
    n_test = int(round(test_fraction * n))
    if test_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    test = set(np.random.default_rng(seed).choice(n, size=n_test, replace=False).tolist()) if n_test else set()
    return [t for i, t in enumerate(tags) if i not in test], [t for i, t in enumerate(tags) if i in test]


def cpu_seconds() -> float:
    """CPU seconds of this process and its terminated children (the analysis workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- writing a shard

class ShardWriter:
    """Writes one shard's per-utterance results and, last, its manifest.

    Args:
        root: the shards folder (``OUT_DIR/shards``, or a temporary folder).
        shard: (I, N).
        settings: dict of every option that changes the result (compared by merge).
        wavs, tags: the global file list and its utterance names (their digests and
            length go into the manifest).
        wav_dir: the corpus folder (recorded for messages).
    """

    def __init__(self, root, shard, settings: dict, wavs: list, tags: list, wav_dir):
        self.root, self.shard = Path(root), tuple(shard)
        self.folder = self.root / shard_name(self.shard)
        self.manifest = self.root / f"{shard_name(self.shard)}.json"
        self.header = {"format": FORMAT, "settings": dict(settings, shards=self.shard[1]),
                       "n_files": len(tags), "files_sha256": files_digest(wavs, wav_dir),
                       "tags_sha256": list_digest(tags),
                       "shard": self.shard[0], "wav_dir": str(wav_dir)}
        self.records, self.seconds, self.cpu0 = [], 0.0, cpu_seconds()
        self.manifest.unlink(missing_ok=True)  # a re-run shard is unfinished until its new manifest
        self.folder.mkdir(parents=True, exist_ok=True)

    def add(self, index: int, tag: str, feats, n_samples: int, centring: dict):
        """Save one analysed utterance (``UtteranceFeatures``) and its record."""
        columns = {}
        for name, a in (("in", feats.inputs), ("out", feats.targets)):
            a = a.astype(np.float64)
            columns[f"{name}_sum"], columns[f"{name}_sumsq"] = a.sum(0), (a ** 2).sum(0)
        with atomic_output(self.folder / f"{index}.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, inputs=feats.inputs, targets=feats.targets, **columns)
        self.seconds += n_samples / SAMPLE_RATE
        self.records.append({"index": index, "tag": tag, "samples": int(n_samples),
                             "frames": int(feats.inputs.shape[0]),
                             "voiced": centring["n_voiced"], "centred": centring["n_within"]})

    def skip(self, index: int, tag: str, error: str):
        """Record a file skipped with --skip_bad."""
        self.records.append({"index": index, "tag": tag, "error": error})

    def finish(self) -> dict:
        """Write the manifest (atomically, last); returns a summary of the shard."""
        cpu = cpu_seconds() - self.cpu0
        write_json(self.manifest, dict(self.header, cpu_seconds=cpu, records=self.records))
        skipped = [r["tag"] for r in self.records if "error" in r]
        return {"shard": self.shard, "n_files": len(self.records), "skipped": skipped,
                "seconds": self.seconds, "cpu_seconds": cpu, "manifest": self.manifest}


# --------------------------------------------------------------------------- merging

def _read_manifest(path: Path) -> dict:
    try:
        m = json.loads(path.read_text())
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise ValueError(f"format {m.get('format') if isinstance(m, dict) else None!r}, expected {FORMAT}")
        absent = [k for k in _MANIFEST_KEYS if k not in m] or [
            f"settings.{k}" for k in ("shards", "test_fraction", "seed", "files_per_nc") if k not in m["settings"]]
        if absent:
            raise ValueError(f"no {', '.join(absent)}")
    except (ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{path}: not a shard manifest of this version ({exc})") from None
    return m


def _identity(m: dict) -> dict:
    """What must agree between the shards of one run."""
    return {key: m[key] for key in ("settings", "n_files", "files_sha256", "tags_sha256")}


def read_shards(root) -> tuple[dict, list, float]:
    """Check the shards under ``root`` and gather them.

    Returns:
        (first manifest, records of all utterances in global order (each with its ``file``,
        the .npz, unless skipped), CPU seconds of the shards).
    Raises:
        InputError: one line for no shards, shards of different settings / N / file lists,
            missing shards (naming them), or records that do not cover the file list.
    """
    root = Path(root)
    paths = sorted(root.glob("*-of-*.json")) if root.is_dir() else []
    if not paths:
        raise InputError(f"{root}: no finished shard here (run `data_utils.py package ... --shard I/N` first)")
    manifests = {p: _read_manifest(p) for p in paths}
    first_path, first = paths[0], manifests[paths[0]]
    for p, m in manifests.items():
        a, b = _identity(first), _identity(m)
        if a != b:
            diff = sorted(k for k in set(a["settings"]) | set(b["settings"])
                          if a["settings"].get(k) != b["settings"].get(k))
            what = ", ".join(f"{k}: {a['settings'].get(k)!r} vs {b['settings'].get(k)!r}" for k in diff) \
                or "a different file list"
            raise InputError(f"{root}: shards {first_path.name} and {p.name} were made with different settings "
                             f"({what}); remove the stale ones and package them again")
        if p.name != f"{shard_name((m['shard'], m['settings']['shards']))}.json":
            raise InputError(f"{p}: manifest of shard {m['shard']}/{m['settings']['shards']} under another name")
    n = first["settings"]["shards"]
    missing = [i for i in range(1, n + 1) if root / f"{shard_name((i, n))}.json" not in manifests]
    if missing:
        raise InputError(f"{root}: missing shard(s) {', '.join(f'{i}/{n}' for i in missing)} of {n} "
                         "(not run, still running or failed): run them, then merge again")
    for m in manifests.values():
        shard = (m["shard"], n)
        if [r["index"] for r in m["records"]] != list(shard_indices(m["n_files"], shard)):
            raise InputError(f"{root / shard_name(shard)}.json: its utterances are not those of shard {shard[0]}/{n}")
        for r in (r for r in m["records"] if "error" not in r):
            r["file"] = root / shard_name(shard) / f"{r['index']}.npz"
    records = sorted((r for m in manifests.values() for r in m["records"]), key=lambda r: r["index"])
    if list_digest([r["tag"] for r in records]) != first["tags_sha256"]:
        raise InputError(f"{root}: the shards' utterances do not make up the file list they were made from")
    return first, records, sum(m["cpu_seconds"] for m in manifests.values())


class _Stats:
    """Column means and standard deviations from per-utterance float64 sums, added in order."""

    def __init__(self, width: int):
        self.n, self.s, self.ss = 0, np.zeros(width), np.zeros(width)

    def add(self, n_rows: int, s: np.ndarray, ss: np.ndarray):
        self.n += n_rows
        self.s += s
        self.ss += ss

    def result(self):
        mean = self.s / self.n
        std = np.sqrt(np.maximum(self.ss / self.n - mean ** 2, 0.0))
        std[std < 1e-6] = 1.0  # constant columns (e.g. all-zero pulse edges) stay as they are
        return mean.astype(np.float32), std.astype(np.float32)


def file_attributes(cfg: MfccConfig, split: str) -> dict:
    """Global attributes of every packaged data file."""
    return {
        "input_columns": INPUT_COLUMNS,
        "target_description": "400-sample excitation pulses: two pitch periods centred at the "
                              "main residual peak next to the nearest GCI (index 200), "
                              "Hann-windowed, unit energy; unvoiced frames: frame-centred "
                              "Hann-windowed residual",
        "sample_rate": SAMPLE_RATE, "frame_hop": cfg.hop_size, "pulse_length": PULSE_LENGTH,
        "f0_method": F0_METHOD, "mfcc_config": str(cfg.to_dict()),
        "source": "python data_utils.py package", "split": split,
    }


def _write_split(staging: Path, split: str, paths: list, tags: list, stats, files_per_nc: int):
    """z-normalise the utterances (``paths``: their .npz files) with the training statistics
    and write ``data.nc1 ...`` into ``staging``."""
    (in_mean, in_std), (out_mean, out_std) = stats
    attrs = file_attributes(MfccConfig(), split)
    staging.mkdir()
    for k in range(0, len(tags), files_per_nc):
        ins, outs = [], []
        for path in paths[k:k + files_per_nc]:
            with np.load(path) as z:
                ins.append(z["inputs"])
                outs.append(z["targets"])
        write_netcdf(staging / f"data.nc{k // files_per_nc + 1}",
                     (np.concatenate(ins) - in_mean) / in_std, (np.concatenate(outs) - out_mean) / out_std,
                     [a.shape[0] for a in ins], tags[k:k + files_per_nc], in_mean, in_std, out_mean, out_std,
                     attrs=attrs)


def _install(staging: Path, target: Path):
    """Replace target's data.nc* by the staged files.

    The staged files were written completely (atomically) beside the target, in
    a temporary folder of the run; moving them in with os.replace is a quick
    rename on the same file system (not a hand-written atomic write of a result).
    """
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("data.nc*"):
        old.unlink()
    for new in sorted(staging.glob("data.nc*")):
        os.replace(new, target / new.name)


def merge_folder(root, out_dir, test_dir) -> dict:
    """Merge the shards under ``root`` into ``out_dir/data.nc*`` and ``test_dir/data.nc*``.

    Args:
        root: the shards folder. out_dir, test_dir: the training and test data folders.

    Returns:
        the summary of ``resgan.packaging.package``: n_train, n_test, train_files, test_files,
        skipped, seconds (audio), cpu_seconds (shards and merge), centred.
    """
    root, out_dir, test_dir = Path(root), Path(out_dir), Path(test_dir)
    cpu0 = cpu_seconds()
    first, records, shard_cpu = read_shards(root)
    settings = first["settings"]
    train_tags, test_tags = split_tags([r["tag"] for r in records], settings["test_fraction"], settings["seed"])
    test_set = set(test_tags)
    path_of = {r["tag"]: r["file"] for r in records if "file" in r}
    inputs, targets = _Stats(N_INPUTS), _Stats(PULSE_LENGTH)
    seconds, voiced, centred, skipped = 0.0, 0, 0, []
    for r in records:   # global file order: the sums are added as one-shot packaging adds them
        if "error" in r:
            skipped.append(r["tag"])
            continue
        seconds += r["samples"] / SAMPLE_RATE
        if r["tag"] in test_set:
            continue
        with np.load(path_of[r["tag"]]) as z:
            inputs.add(r["frames"], z["in_sum"], z["in_sumsq"])
            targets.add(r["frames"], z["out_sum"], z["out_sumsq"])
        voiced += r["voiced"]
        centred += r["centred"]
    dropped = set(skipped)
    train_tags = [t for t in train_tags if t not in dropped]
    test_tags = [t for t in test_tags if t not in dropped]
    if not train_tags:
        raise InputError(f"{first['wav_dir']}: no usable training utterance")
    stats = (inputs.result(), targets.result())
    for folder in (out_dir, test_dir):
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".merging_", dir=out_dir) as tmp:
        for split, tags in (("train", train_tags), ("test", test_tags)):
            _write_split(Path(tmp) / split, split, [path_of[t] for t in tags], tags, stats,
                         settings["files_per_nc"])
        for split, target in (("train", out_dir), ("test", test_dir)):
            _install(Path(tmp) / split, target)
    return {"n_train": len(train_tags), "n_test": len(test_tags), "skipped": skipped,
            "train_files": list_data_files(out_dir) if train_tags else [],
            "test_files": list_data_files(test_dir) if test_tags else [],
            "seconds": seconds, "cpu_seconds": shard_cpu + cpu_seconds() - cpu0,
            "centred": centred / voiced if voiced else float("nan")}


def merge(out_dir="traindata", test_dir="testdata") -> dict:
    """Merge ``out_dir/shards`` (all N shards of ``package --shard I/N``) into the final
    ``data.nc*`` files, then remove ``out_dir/shards``; a failed merge leaves them.

    Returns:
        the summary of :func:`merge_folder`.
    """
    root = Path(out_dir) / SHARD_DIR
    summary = merge_folder(root, out_dir, test_dir)
    shutil.rmtree(root)
    return summary
