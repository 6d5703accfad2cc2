"""ResGAN's numbered stage scripts and run.sh: --help, unknown flags, --stage/--stop_stage,
and the flags each stage passes on (cheap: PYTHON is a stub that logs its arguments)."""
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ["run.sh", "00_make_dirs.sh", "00_get_data.sh", "01_run_train.sh", "02_generate.sh",
           "03_synthesize.sh", "04_evaluate.sh"]


def _bash(script, *args, env=None):
    return subprocess.run(["bash", str(REPO / script), *args], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.fixture()
def stub(tmp_path, recording_python):
    """Environment whose PYTHON logs its arguments (one line per call), with every folder of
    the pipeline inside tmp_path; returns (env, folder flags, log)."""
    for name in ("train", "test"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "data.nc1").write_bytes(b"")  # 01 checks that the data exist
    dirs = ["--data_dir", str(tmp_path / "data"), "--train_dir", str(tmp_path / "train"),
            "--test_dir", str(tmp_path / "test"), "--model_dir", str(tmp_path / "models"),
            "--out_dir", str(tmp_path / "output"), "--figures_dir", str(tmp_path / "figures")]
    return recording_python.env, dirs, recording_python.log


def _calls(log):
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_stage_script_answers_help(script):
    proc = _bash(script, "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(("Stage", "ResGAN")) and "--stage" in proc.stdout
    assert not proc.stdout.startswith("#") and "set -euo" not in proc.stdout  # the header only


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("flag", [["--no_such_flag", "1"], ["--stage", "x"], ["--paper"]])
def test_unknown_flags_are_refused_with_one_line(script, flag):
    proc = _bash(script, *flag)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")


def test_run_sh_outside_the_stage_range_does_nothing(stub):
    env, dirs, log = stub
    proc = _bash("run.sh", "--stage", "5", *dirs, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and _calls(log) == []


def test_a_single_stage_runs_alone_with_run_sh_options(stub):
    env, dirs, log = stub
    proc = _bash("run.sh", "--stage", "2", "--stop_stage", "2", "--context", "3", "--seed", "4",
                 *dirs, env=env)
    assert proc.returncode == 0, proc.stderr
    (call,) = _calls(log)
    assert call.startswith("train.py --mode generate --rnn_context_len 3 ")
    assert f"--model_dir {dirs[7]} --out_dir {dirs[9]} --seed 4" in call
    # a numbered script outside its stage exits at once
    assert _bash("02_generate.sh", "--stage", "3", env=env).returncode == 0 and len(_calls(log)) == 1


def test_run_sh_passes_preset_context_resume_and_extra_flags_to_every_stage(stub, tmp_path):
    env, dirs, log = stub
    proc = _bash("run.sh", "--preset", "paper", "--context", "40", "--resume", "false", *dirs,
                 "--", "--epochs_pulse", "1", env=env)
    assert proc.returncode == 0, proc.stderr
    calls = _calls(log)
    programs = [c.split()[0] + (" " + c.split()[1] if c.startswith("-m") else "") for c in calls]
    assert programs == ["-m corpus.make_synthetic", "-m corpus.make_noises", "data_utils.py",
                        "train.py", "train.py", "synthesize.py", "train.py", "-"]
    train = calls[3]
    assert train.startswith("train.py --mode train --preset paper --rnn_context_len 40 --seed 0 --no-resume")
    assert train.endswith("--epochs_pulse 1")  # extra flags go to train.py, last (they win)
    assert f"--data_dir {tmp_path / 'train'} --testdata_dir {tmp_path / 'test'}" in train
    assert all("--rnn_context_len 40" in c for c in calls[4:7])
    assert "--mode evaluate" in calls[6] and f"--recordings_dir {tmp_path / 'data'}/synthetic/wav" in calls[6]
    assert (tmp_path / "models").is_dir() and (tmp_path / "figures").is_dir()  # stage 0 made them
    assert "done:" in proc.stdout


def test_01_defaults_to_the_quick_preset_and_resumes(stub):
    env, dirs, log = stub
    stage_dirs = dirs[2:6] + dirs[6:8] + dirs[10:]  # train, test, model and figures folders
    proc = _bash("01_run_train.sh", *stage_dirs, env=env)
    assert proc.returncode == 0, proc.stderr
    (call,) = _calls(log)
    assert call.startswith("train.py --mode train --preset quick --rnn_context_len 1 --seed 0 --resume ")
    missing = _bash("01_run_train.sh", "--train_dir", str(Path(dirs[3]).parent / "nowhere"), env=env)
    assert missing.returncode == 1 and "run 00_get_data.sh first" in missing.stderr
