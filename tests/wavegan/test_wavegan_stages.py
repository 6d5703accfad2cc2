"""The wavegan stage scripts: --help, unknown options, stage selection, options passed on.

A stand-in `python` on PATH (`recording_python`) logs what each stage would run, so these
tests take a second and import no Keras.
"""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["run.sh", "01_prepare.sh", "02_train.sh", "03_generate.sh", "04_evaluate.sh"]


def bash(script, *args, env=None):
    return subprocess.run(["bash", str(ROOT / "wavegan" / script), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, env=env)


@pytest.mark.parametrize("script", STAGES)
def test_stage_script_answers_help_and_refuses_unknown_options(script):
    r = bash(script, "--help")
    assert r.returncode == 0 and r.stderr == ""
    assert f"Usage: bash wavegan/{script}" in r.stdout and "--stage" in r.stdout
    r = bash(script, "--bogus", "1")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [f"error: {script}: unknown option --bogus (see --help)"]


def test_run_sh_selects_stages_and_passes_options_on(tmp_path, recording_python):
    env = recording_python.env
    r = bash("run.sh", "--stage", 2, "--stop_stage", 3, "--model", "tifgan", "--steps", 7,
             "--seed", 3, "--resume", "false", "--out_dir", tmp_path / "o", "--inversion",
             "griffinlim", "--", "--phase_shuffle", "0", env=env)
    assert r.returncode == 0, r.stderr
    assert "stage 2" in r.stdout and "stage 3" in r.stdout and "stage 1" not in r.stdout
    assert recording_python.calls() == [
        "-m wavegan.train --model tifgan --preset tifgan_quick --data_dir data/wavegan/fsdd "
        "--out_dir models/wavegan/tifgan --seed 3 --steps 7 --no-resume --phase_shuffle 0",
        f"-m wavegan.generate --model_dir models/wavegan/tifgan --seed 3 --inversion griffinlim "
        f"--n 100 --out_dir {tmp_path}/o",
        f"-m wavegan.generate --model_dir models/wavegan/tifgan --seed 3 --inversion griffinlim "
        f"--n 8 --interpolate --out_dir {tmp_path}/o/interpolation"]


def test_run_sh_all_stages_with_defaults(tmp_path, recording_python):
    """Every stage once: the FSDD folder is read, the missing classifier trained, both scores."""
    fsdd, data, fig = tmp_path / "fsdd", tmp_path / "data", tmp_path / "fig"
    fsdd.mkdir()
    clf = tmp_path / "clf"
    r = bash("run.sh", "--fsdd_dir", fsdd, "--data_dir", data, "--fig_dir", fig, "--classifier",
             clf, "--run_dir", tmp_path / "run", env=recording_python.env)
    assert r.returncode == 0, r.stderr
    calls = recording_python.calls()
    run = tmp_path / "run"
    assert calls == [
        f"-m wavegan.data --fsdd_dir {fsdd} --out_dir {data}",
        f"-m wavegan.train --model specgan --preset specgan_quick --data_dir {data} "
        f"--out_dir {run} --seed 0 --resume",
        f"-m wavegan.generate --model_dir {run} --seed 0 --n 100 --out_dir output/wavegan/specgan",
        f"-m wavegan.generate --model_dir {run} --seed 0 --n 8 --interpolate "
        f"--out_dir output/wavegan/specgan/interpolation",
        f"-m wavegan.train_classifier --data_dir {data} --out_dir {clf} --preset cpu --seed 0",
        f"-m wavegan.evaluate --model_dir {run} --n 500 --real_dir {data} --classifier {clf} "
        f"--seed 0",
        f"-m wavegan.curve --run_dir {run} --n 200 --real_dir {data} --classifier {clf} --seed 0 "
        f"--figure {fig}/specgan_inception_curve.png"]
    assert (fig / "specgan_evaluate.json").is_file()


def test_prepared_data_and_existing_classifier_are_reused(tmp_path, recording_python):
    data = tmp_path / "data"
    data.mkdir()
    (data / "split.json").write_text("{}")
    clf = tmp_path / "c.keras"
    clf.write_text("")
    r = bash("run.sh", "--fsdd_dir", tmp_path, "--data_dir", data, "--classifier", clf,
             "--fig_dir", tmp_path / "fig", "--stop_stage", 1, env=recording_python.env)
    assert r.returncode == 0 and "prepared already" in r.stdout
    r = bash("04_evaluate.sh", "--data_dir", data, "--classifier", clf, "--fig_dir",
             tmp_path / "fig", env=recording_python.env)
    assert r.returncode == 0, r.stderr
    assert [c.split()[1] for c in recording_python.calls()] == ["wavegan.evaluate", "wavegan.curve"]
    r = bash("04_evaluate.sh", "--classifier", tmp_path / "missing.keras",
             env=recording_python.env)
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1


def test_prepare_without_fsdd_fails_in_one_line(tmp_path, recording_python):
    env = {**recording_python.env, "AUDIOSYNTH_REALDATA": str(tmp_path / "nowhere")}
    r = bash("01_prepare.sh", "--data_dir", tmp_path / "d", env=env)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"error: 01_prepare.sh: no FSDD folder at {tmp_path}/nowhere/fsdd_8k (give --fsdd_dir "
        f"DIR or set AUDIOSYNTH_REALDATA)"]
    assert recording_python.calls() == [] and not (tmp_path / "d").exists()
    r = bash("run.sh", "--fsdd_dir", tmp_path / "x", env=env)  # run.sh stops there too
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and recording_python.calls() == []


def test_stages_outside_the_range_do_nothing(tmp_path, recording_python):
    for script in STAGES:
        r = bash(script, "--stage", 5, env=recording_python.env)
        assert r.returncode == 0 and r.stdout == "", (script, r.stderr)
    assert recording_python.calls() == []
