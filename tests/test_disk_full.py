"""Disk full or read-only in the middle of a run: the previous file survives byte for byte (issue 22).

Every result file is written under a temporary name beside its target and renamed
over it (`dsp.audio.atomic_output`). These tests make that rename fail, as it does
when the disk fills up or the folder turns read-only after the data was written,
while re-writing a wav, a JSON file, a ResGAN NetCDF data file and a WaveNet
checkpoint (.keras), and check that the previous file is unchanged byte for byte,
that no temporary file is left behind, and that a command reports it in one line.
"""
import errno
import os
from pathlib import Path

import numpy as np
import pytest

from dsp.audio import cli_main, load_audio, write_json, write_wav
from resgan.netcdf import read_netcdf, write_netcdf
from tests.resgan.netcdf_examples import example_arrays
from wavenet.model import WaveNetConfig, build_wavenet, load_vocoder, save_vocoder

FAILURES = [errno.ENOSPC, errno.EROFS, errno.EACCES]


def failing_rename(monkeypatch, target, code):
    """Make ``os.replace(..., target)`` fail with `code`; other renames work. Returns the temp names tried."""
    real = os.replace
    tried = []

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == Path(target):
            tried.append(Path(src))
            raise OSError(code, os.strerror(code), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return tried


def contents(folder):
    """{name: bytes} of every file in `folder` (temporary files included: they start with a dot)."""
    return {p.name: p.read_bytes() for p in Path(folder).iterdir() if p.is_file()}


def check_survives(monkeypatch, folder, target, code, write_again):
    """Re-write `target` with the rename failing: OSError(code), previous bytes kept, no temp left.

    Returns the folder's files after the attempt (a writer may have replaced other files first).
    """
    before = contents(folder)
    tried = failing_rename(monkeypatch, target, code)
    with pytest.raises(OSError) as info:
        write_again()
    monkeypatch.undo()
    assert info.value.errno == code
    assert tried and all(t.parent == Path(folder) and t.name.startswith(".") for t in tried)
    assert not any(t.exists() for t in tried), "temporary file left behind"
    after = contents(folder)
    assert after[target.name] == before[target.name]  # the previous file, byte for byte
    assert sorted(after) == sorted(before)            # and no new file (temporary or other)
    return after


def tone(seconds=0.25, sr=16000, f=220.0):
    return (0.4 * np.sin(2 * np.pi * f * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


@pytest.mark.parametrize("code", FAILURES)
def test_wav_survives_a_failed_rewrite(tmp_path, monkeypatch, code):
    target = tmp_path / "speech.wav"
    write_wav(target, tone(), 16000)
    before = contents(tmp_path)
    assert check_survives(monkeypatch, tmp_path, target, code,
                          lambda: write_wav(target, tone(f=440.0), 16000)) == before
    x, sr = load_audio(target)
    assert sr == 16000 and np.max(np.abs(x - tone())) < 1e-4      # still the first signal


def test_json_survives_a_failed_rewrite(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    write_json(target, {"epoch": 3})
    check_survives(monkeypatch, tmp_path, target, errno.ENOSPC, lambda: write_json(target, {"epoch": 4}))
    assert target.read_text().strip().endswith("}") and '"epoch": 3' in target.read_text()


def test_netcdf_survives_a_failed_rewrite(tmp_path, monkeypatch):
    target = tmp_path / "data.nc1"
    x, y, lengths, tags, stats = example_arrays()
    write_netcdf(target, x, y, lengths, tags, **stats)
    check_survives(monkeypatch, tmp_path, target, errno.ENOSPC,
                   lambda: write_netcdf(target, x + 1, y, lengths, tags, **stats))
    data = read_netcdf(target)                                    # whole and still the first data
    assert data.seq_tags == list(tags) and np.allclose(data.inputs, x)


def test_checkpoint_survives_a_failed_rewrite(tmp_path, monkeypatch):
    """A WaveNet checkpoint: the failed .keras keeps its old weights (its JSON is a file of its own)."""
    cfg = WaveNetConfig(n_layers=2, n_stacks=1, kernel_size=2, residual_channels=4, gate_channels=8,
                        skip_channels=4, hop=16, upsample_scales=[4, 4])
    first, second = build_wavenet(cfg), build_wavenet(cfg)
    second.set_weights([w + 1.0 for w in first.get_weights()])
    target = tmp_path / "vocoder.keras"
    save_vocoder(first, cfg, target, extra={"epoch": 1})
    check_survives(monkeypatch, tmp_path, target, errno.ENOSPC,
                   lambda: save_vocoder(second, cfg, target, extra={"epoch": 2}))
    model, _ = load_vocoder(target)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), first.get_weights()))


def test_a_command_reports_the_full_disk_in_one_line(tmp_path, monkeypatch, capsys):
    target = tmp_path / "out.wav"

    @cli_main
    def main():
        write_wav(target, tone(), 16000)

    failing_rename(monkeypatch, target, errno.ENOSPC)
    with pytest.raises(SystemExit) as info:
        main()
    err = capsys.readouterr().err.splitlines()
    assert info.value.code == 1 and len(err) == 1
    assert err[0].startswith("error: ") and str(target) in err[0] and "No space left" in err[0]
    assert list(tmp_path.iterdir()) == []
