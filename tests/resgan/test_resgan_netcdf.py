"""The CURRENNT NetCDF format (resgan.netcdf) and its command line (data_utils.py)."""
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from scipy.io import netcdf_file

import data_utils
from dsp.audio import InputError
from resgan import netcdf as du
from resgan.constants import INPUT_COLUMNS
from tests.resgan.netcdf_examples import example_arrays as _example

REPO = Path(__file__).resolve().parents[2]


def _write_original(path, variables, lengths, tags, library="scipy", fmt="NETCDF3_CLASSIC", n_rows=None):
    """A file with the original CURRENNT variable set, written without resgan.netcdf."""
    max_tag = max(len(t.encode()) for t in tags) + 1
    chars = np.zeros((len(tags), max_tag), "S1")
    for i, t in enumerate(tags):
        chars[i, :len(t.encode())] = np.frombuffer(t.encode(), "S1")
    dims = {"inputs": ("numTimesteps", "inputPattSize"),
            "targetPatterns": ("numTimesteps", "targetPattSize"),
            "inputMeans": ("inputPattSize",), "inputStdevs": ("inputPattSize",),
            "outputMeans": ("targetPattSize",), "outputStdevs": ("targetPattSize",)}
    sizes = {"numSeqs": len(tags), "numTimesteps": n_rows or sum(lengths), "inputPattSize": 22,
             "targetPattSize": 400, "maxSeqTagLength": max_tag}
    if library == "scipy":
        f = netcdf_file(str(path), "w", version=1)
        for k, v in sizes.items():
            f.createDimension(k, v)
        f.createVariable("seqTags", "c", ("numSeqs", "maxSeqTagLength"))[:] = chars
        f.createVariable("seqLengths", "i", ("numSeqs",))[:] = np.asarray(lengths, np.int32)
        for name, a in variables.items():
            f.createVariable(name, "f", dims[name])[:] = a
        f.close()
    else:
        with netCDF4.Dataset(str(path), "w", format=fmt) as f:
            for k, v in sizes.items():
                f.createDimension(k, v)
            f.createVariable("seqTags", "S1", ("numSeqs", "maxSeqTagLength"))[:] = chars
            f.createVariable("seqLengths", "i4", ("numSeqs",))[:] = np.asarray(lengths, np.int32)
            for name, a in variables.items():
                f.createVariable(name, "f4", dims[name])[:] = a


def _original_variables(x, y, stats):
    return {"inputs": x, "targetPatterns": y,
            "inputMeans": stats["input_means"], "inputStdevs": stats["input_stdevs"],
            "outputMeans": stats["output_means"], "outputStdevs": stats["output_stdevs"]}


def test_write_read_roundtrip_with_both_libraries(tmp_path):
    x, y, lengths, tags, stats = _example()
    path = du.write_netcdf(tmp_path / "data.nc1", x, y, lengths, tags, attrs={"input_columns": INPUT_COLUMNS},
                           **stats)
    expect_targets = y * stats["output_stdevs"] + stats["output_means"]
    d = du.read_netcdf(path)
    np.testing.assert_array_equal(d.inputs, x)
    np.testing.assert_allclose(d.targets, expect_targets, rtol=1e-6, atol=1e-7)
    assert d.seq_tags == tags and list(d.seq_lengths) == lengths
    assert d.attrs["input_columns"] == INPUT_COLUMNS
    # the same file through netCDF4 gives identical arrays
    v4, _, _ = du._read_netcdf4(Path(path), du._VARIABLES)
    vs, _, _ = du._read_scipy(Path(path), du._VARIABLES)
    for name in du._VARIABLES:
        np.testing.assert_array_equal(np.asarray(v4[name]), np.asarray(vs[name]), err_msg=name)
    with netCDF4.Dataset(str(path)) as ds:
        assert ds.file_format == "NETCDF3_CLASSIC"
    # no temporary file left beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.nc1"]


@pytest.mark.parametrize("library,fmt", [("scipy", None), ("netCDF4", "NETCDF3_CLASSIC"), ("netCDF4", "NETCDF4")])
def test_reads_files_with_the_original_variable_set(tmp_path, library, fmt):
    x, y, lengths, tags, stats = _example()
    path = tmp_path / "orig.nc"
    _write_original(path, _original_variables(x, y, stats), lengths, tags, library, fmt)
    d = du.read_netcdf(path)
    np.testing.assert_array_equal(d.inputs, x)
    np.testing.assert_allclose(d.targets, y * stats["output_stdevs"] + stats["output_means"], rtol=1e-6, atol=1e-7)
    assert d.seq_tags == tags
    np.testing.assert_array_equal(d.seq_lengths, lengths)
    np.testing.assert_array_equal(du.norm_stats(path)["input_stdevs"], stats["input_stdevs"])
    assert du.num_rows(path) == sum(lengths)


@pytest.mark.parametrize("break_it,variable", [
    ("drop:targetPatterns", "targetPatterns"),
    ("drop:outputStdevs", "outputStdevs"),
    ("rows:targetPatterns", "targetPatterns"),
    ("nan:targetPatterns", "targetPatterns"),
    ("nan:inputs", "inputs"),
    ("lengths", "seqLengths"),
])
def test_corrupt_files_name_file_and_variable(tmp_path, break_it, variable):
    x, y, lengths, tags, stats = _example()
    v = _original_variables(x, y, stats)
    kind, _, name = break_it.partition(":")
    if kind == "drop":
        del v[name]
    elif kind == "nan":
        v[name] = v[name].copy()
        v[name][3, 5] = np.nan
    elif kind == "lengths":
        lengths = [5, 7, 3]  # sums to 15, the file has 16 rows
    path = tmp_path / "bad.nc"
    if kind == "rows":  # targets with one row fewer than inputs (own dimension)
        f = netcdf_file(str(path), "w", version=1)
        f.createDimension("numSeqs", 3)
        f.createDimension("numTimesteps", 16)
        f.createDimension("fewer", 15)
        f.createDimension("inputPattSize", 22)
        f.createDimension("targetPattSize", 400)
        f.createDimension("maxSeqTagLength", 2)
        f.createVariable("seqTags", "c", ("numSeqs", "maxSeqTagLength"))[:] = np.full((3, 2), b"a", "S1")
        f.createVariable("seqLengths", "i", ("numSeqs",))[:] = np.array(lengths, np.int32)
        f.createVariable("inputs", "f", ("numTimesteps", "inputPattSize"))[:] = x
        f.createVariable("targetPatterns", "f", ("fewer", "targetPattSize"))[:] = y[:15]
        for k in ("inputMeans", "inputStdevs"):
            f.createVariable(k, "f", ("inputPattSize",))[:] = v[k]
        for k in ("outputMeans", "outputStdevs"):
            f.createVariable(k, "f", ("targetPattSize",))[:] = v[k]
        f.close()
    else:
        _write_original(path, v, lengths, tags, n_rows=16)
    with pytest.raises(InputError) as err:
        du.read_netcdf(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: {variable}:"), msg


def test_unreadable_and_missing_files(tmp_path):
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"this is not netcdf" * 10)
    with pytest.raises(InputError, match=f"^{garbage}: not a readable NetCDF"):
        du.read_netcdf(garbage)
    with pytest.raises(InputError, match="no such file"):
        du.read_netcdf(tmp_path / "missing.nc")
    x, y, lengths, tags, stats = _example()
    with pytest.raises(InputError, match="seqLengths"):
        du.write_netcdf(tmp_path / "w.nc", x, y, [1, 2], tags[:2], **stats)
    assert not (tmp_path / "w.nc").exists()


def test_list_data_files_natural_order(tmp_path):
    for k in (1, 2, 10, 3):
        (tmp_path / f"data.nc{k}").write_bytes(b"")
    (tmp_path / "other.nc").write_bytes(b"")
    assert [p.name for p in du.list_data_files(tmp_path)] == ["data.nc1", "data.nc2", "data.nc3", "data.nc10"]
    assert len(du.list_data_files(tmp_path, max_files=2)) == 2
    with pytest.raises(InputError):
        du.list_data_files(tmp_path / "nope")


def test_info_cli_and_bad_file(two_files, tmp_path, capsys):
    assert data_utils.main(["info", str(two_files[0])]) == 0
    out = capsys.readouterr().out
    assert "3 utterances, 16 frames" in out and "(16, 400)" in out
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"\0" * 64)
    with pytest.raises(SystemExit) as exc:
        data_utils.main(["info", str(bad)])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}:")


def test_import_packaged_splits_and_validates(two_files, tmp_path):
    src = tmp_path / "zip"
    (src / "train").mkdir(parents=True)
    (src / "testset").mkdir()
    (src / "train" / "data.nc10").write_bytes(two_files[1].read_bytes())
    (src / "train" / "data.nc2").write_bytes(two_files[0].read_bytes())
    (src / "testset" / "data.nc1").write_bytes(two_files[1].read_bytes())
    out = du.import_packaged(src, tmp_path / "tr", tmp_path / "te")
    assert [p.name for p in out["train"]] == ["data.nc1", "data.nc2"] and len(out["test"]) == 1
    assert du.read_netcdf(out["train"][0]).seq_tags == ["f0_0", "f0_1", "f0_2"]  # nc2 before nc10
    (src / "train" / "data.nc3").write_bytes(b"garbage")
    with pytest.raises(InputError, match="data.nc3"):
        du.import_packaged(src, tmp_path / "tr2", tmp_path / "te2")
    assert not (tmp_path / "tr2").exists()




def test_data_utils_reexports_the_format_and_starts_without_keras():
    assert data_utils.read_netcdf is du.read_netcdf and data_utils.write_netcdf is du.write_netcdf
    assert not hasattr(data_utils, "__getattr__") and not hasattr(du, "__getattr__")
    code = ("import sys, data_utils; data_utils.build_parser(); "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
