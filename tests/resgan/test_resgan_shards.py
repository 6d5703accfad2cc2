"""Sharded packaging (`data_utils.py package --shard I/N`, then `merge`; resgan.shards).

Every command runs as a process of its own, as the N jobs of a cluster would: the
corpus is the session's tiny corpus (4 utterances) plus one broken file (skipped
with --skip_bad), so the shards hold analysed and skipped utterances, the test
split is not empty and the training split spans two data.ncK files.
"""
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import data_utils
from resgan.netcdf import norm_stats
from resgan.shards import SHARD_DIR, ShardWriter, merge, parse_shard, shard_indices
from tests.cli_batch import message_lines

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wav_dir(tiny_corpus, tmp_path_factory):
    """The tiny corpus's 4 recordings and a broken file sorted last (index 4: shard 2 of 3)."""
    folder = tmp_path_factory.mktemp("shard_corpus") / "wav"
    folder.mkdir()
    for wav in sorted((tiny_corpus / "wav").glob("*.wav")):
        (folder / wav.name).write_bytes(wav.read_bytes())
    (folder / "zz_broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    return folder


def _data_utils(*args):
    return subprocess.run([sys.executable, "data_utils.py", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def _package(wav_dir, root, *extra, figures_every=0, seed=1):
    """`package` into root/train, root/test (figures into root/figures); returns the process.
    Seed 1 puts the third recording in the test split (seed 0 would pick the broken file)."""
    return _data_utils("package", "--wav_dir", wav_dir, "--out_dir", root / "train", "--test_dir", root / "test",
                       "--test_fraction", 0.25, "--files_per_nc", 2, "--figures_every", figures_every,
                       "--figures_dir", root / "figures", "--seed", seed, "--skip_bad", *extra)


def _merge(root):
    return _data_utils("merge", "--out_dir", root / "train", "--test_dir", root / "test")


def _tree(root):
    """{relative path: sha256} of every file under root (hidden ones included)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _ok(proc):
    assert proc.returncode == 0, proc.stderr
    return proc


def _summary(stdout, root):
    """The summary line without the output root and the CPU-time speed (differs between runs)."""
    return re.sub(r"[\d.]+x real time", "Nx real time", stdout.strip().splitlines()[-1].replace(str(root), "ROOT"))


def test_three_shards_then_merge_equal_one_shot_byte_for_byte(wav_dir, tmp_path):
    one, sharded = tmp_path / "one_shot", tmp_path / "sharded"
    one_line = _ok(_package(wav_dir, one, figures_every=2)).stdout
    for i in (3, 1, 2):   # any order: the jobs are independent
        _ok(_package(wav_dir, sharded, "--shard", f"{i}/3", figures_every=2))
    shards = sharded / "train" / SHARD_DIR
    assert sorted(p.name for p in shards.glob("*.json")) == ["1-of-3.json", "2-of-3.json", "3-of-3.json"]
    assert not list(sharded.rglob("data.nc*")) and not (sharded / "test").exists()   # merge writes those
    merge_line = _ok(_merge(sharded)).stdout
    assert not shards.exists()   # merge removes the intermediates

    expected, got = _tree(one), _tree(sharded)
    differ = sorted(k for k in expected.keys() & got.keys() if expected[k] != got[k])
    assert not differ, f"files that differ: {differ}"
    assert sorted(got) == sorted(expected), (f"only one-shot: {sorted(expected.keys() - got.keys())}, "
                                             f"only sharded: {sorted(got.keys() - expected.keys())}")
    # the comparison covers what matters: 3 training utterances in 2 files, 1 test, figures, a skipped file
    assert sorted(expected) == ["figures/packaging_syn_spk1_0001.png", "figures/packaging_syn_spk3_0001.png",
                                "test/data.nc1", "train/data.nc1", "train/data.nc2"]
    assert _summary(merge_line, sharded) == _summary(one_line, one)
    assert "3 training utterances into 2 file(s)" in one_line and "1 skipped" in one_line


def test_merge_names_the_missing_shard_and_writes_nothing(wav_dir, tmp_path):
    for i in (1, 3):
        _ok(_package(wav_dir, tmp_path, "--shard", f"{i}/3"))
    proc = _merge(tmp_path)
    lines = message_lines(proc.stderr)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "missing shard(s) 2/3 of 3" in lines[0], lines[0]
    assert not list(tmp_path.rglob("data.nc*")) and (tmp_path / "train" / SHARD_DIR / "1-of-3.json").exists()


def test_a_failed_shard_job_is_missing_not_half_there(wav_dir, tmp_path):
    """Shard 2 holds the broken file: re-run without --skip_bad it fails, and its earlier
    manifest is gone, so merge names it missing instead of merging a mix."""
    for i in (1, 2, 3):
        _ok(_package(wav_dir, tmp_path, "--shard", f"{i}/3"))
    rerun = _data_utils("package", "--wav_dir", wav_dir, "--out_dir", tmp_path / "train", "--test_dir",
                        tmp_path / "test", "--shard", "2/3", "--figures_every", 0)
    assert rerun.returncode == 1 and "zz_broken.wav" in message_lines(rerun.stderr)[-1]
    proc = _merge(tmp_path)
    assert proc.returncode == 1 and "missing shard(s) 2/3 of 3" in message_lines(proc.stderr)[0]


@pytest.mark.parametrize("stale, seed, words", [
    ("3/3", 2, "seed: 1 vs 2"),      # one job run with another seed
    ("1/2", 1, "shards: 2 vs 3"),    # a shard left from a 2-job run
])
def test_merge_refuses_shards_of_different_settings(wav_dir, tmp_path, stale, seed, words):
    for i in (1, 2, 3):
        if stale != f"{i}/3":
            _ok(_package(wav_dir, tmp_path, "--shard", f"{i}/3"))
    _ok(_package(wav_dir, tmp_path, "--shard", stale, seed=seed))
    proc = _merge(tmp_path)
    lines = message_lines(proc.stderr)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert "different settings" in lines[0] and words in lines[0], lines[0]
    assert not list(tmp_path.rglob("data.nc*"))


@pytest.mark.parametrize("value", ["0/3", "4/3", "3", "1/0", "a/b", "1/2/3", "-1/2", " 1/2", "1/"])
def test_malformed_shard_is_refused_with_one_line(tmp_path, capsys, value):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        data_utils.main(["package", "--wav_dir", str(tmp_path), "--out_dir", str(out), "--test_dir",
                         str(tmp_path / "test"), f"--shard={value}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 1 and len(err) == 1, err
    assert err[0].startswith("error: --shard: expected I/N") and repr(value) in err[0]
    assert not out.exists() and not (tmp_path / "test").exists()


def test_merge_without_shards_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        data_utils.main(["merge", "--out_dir", str(tmp_path / "train"), "--test_dir", str(tmp_path / "test")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 1 and len(err) == 1 and "no finished shard" in err[0]


def test_shards_partition_the_file_list_by_stride():
    assert parse_shard("2/3") == (2, 3)
    parts = [list(shard_indices(8, (i, 3))) for i in (1, 2, 3)]
    assert parts == [[0, 3, 6], [1, 4, 7], [2, 5]]
    assert list(shard_indices(2, (3, 3))) == []   # more jobs than files: an empty shard


def test_merge_adds_the_statistics_in_global_file_order(tmp_path):
    """Column 0 of three one-frame utterances is 2**60, 1, -2**60: in file order the 1 is lost
    in float64 ((2**60 + 1) - 2**60 = 0), in shard order (files 0 and 2, then 1) it is not
    (mean 1/3). Merge must give the one-shot answer, mean 0, however the files are sharded."""
    wav_dir = tmp_path / "wav"
    wav_dir.mkdir()
    wavs = [wav_dir / f"{t}.wav" for t in "abc"]
    for w in wavs:
        w.write_bytes(b"x")   # only listed (names and sizes), never read
    settings = {"test_fraction": 0.0, "files_per_nc": 10, "seed": 0}
    means = {}
    for n in (1, 2):
        out = tmp_path / f"n{n}"
        for i in range(1, n + 1):
            writer = ShardWriter(out / "train" / SHARD_DIR, (i, n), settings, wavs, list("abc"), wav_dir)
            for k in shard_indices(3, (i, n)):
                inputs = np.zeros((1, 22), np.float32)
                inputs[0, 0] = (2.0 ** 60, 1.0, -2.0 ** 60)[k]
                feats = SimpleNamespace(inputs=inputs, targets=np.zeros((1, 400), np.float32))
                writer.add(k, "abc"[k], feats, 80, {"n_voiced": 0, "n_within": 0})
            writer.finish()
        merge(out / "train", out / "test")
        means[n] = norm_stats(out / "train" / "data.nc1")["input_means"][0]
    assert means == {1: 0.0, 2: 0.0}
