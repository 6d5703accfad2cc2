"""``python -m tools.launch``: one TF_CONFIG per worker, output forwarded with a prefix, and a failed or
killed worker stops the others and makes the launcher exit non-zero with one line.

The workers here are small Python commands that report their TF_CONFIG or die; a real trainer under the
launcher is tested in tests/wavenet/test_wavenet_distribute.py.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.launch import tf_config, with_multi_worker_flag

REPO = Path(__file__).resolve().parents[2]


def _launch(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "tools.launch", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_every_worker_gets_its_own_tf_config_and_a_prefix():
    worker = ("import json, os; c = json.loads(os.environ['TF_CONFIG']); "
              "print(c['task']['index'], len(c['cluster']['worker']), c['cluster']['worker'][c['task']['index']])")
    result = _launch("--workers", "3", "--", sys.executable, "-c", worker, "--distribute", "none")
    assert result.returncode == 0, result.stderr
    lines = sorted(result.stdout.splitlines())
    assert [ln.split("] ")[0] for ln in lines] == ["[worker 0", "[worker 1", "[worker 2"]
    ports = set()
    for i, line in enumerate(lines):
        index, size, address = line.split("] ")[1].split()
        assert (int(index), int(size)) == (i, 3)
        assert address.startswith("127.0.0.1:")
        ports.add(address)
    assert len(ports) == 3, "each worker needs its own port"


def test_a_killed_worker_stops_the_others_and_fails_with_one_line():
    # worker 1 kills itself; worker 0 would wait a minute (as a trainer waits for its peer)
    worker = ("import json, os, signal, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
              "print('started', flush=True); time.sleep(1); "
              "os.kill(os.getpid(), signal.SIGKILL) if i == 1 else time.sleep(60)")
    start = time.monotonic()
    result = _launch("--workers", "2", "--", sys.executable, "-c", worker, "--distribute", "none")
    assert result.returncode == 1
    assert time.monotonic() - start < 30, "the surviving worker was not stopped"
    assert result.stderr.strip().splitlines() == [
        "error: worker 1 failed (killed by SIGKILL); stopped the other 1 worker(s)"]
    assert result.stdout.count("started") == 2


def test_a_worker_that_exits_with_an_error_fails_the_launch():
    result = _launch("--workers", "2", "--", sys.executable, "-c", "import sys; sys.exit(3)",
                     "--distribute", "none")
    assert result.returncode == 1
    assert "failed (exit code 3)" in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--workers", "2"], "no trainer command"),
    (["--workers", "0", "--", "true"], "--workers must be >= 1"),
])
def test_bad_launches_are_refused_with_one_line(argv, message):
    result = _launch(*argv)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_tf_config_and_distribute_flag():
    config = json.loads(tf_config([1001, 1002], 1))
    assert config == {"cluster": {"worker": ["127.0.0.1:1001", "127.0.0.1:1002"]},
                      "task": {"type": "worker", "index": 1}}
    assert with_multi_worker_flag(["python", "-m", "x"]) == ["python", "-m", "x", "--distribute", "multi_worker"]
    assert with_multi_worker_flag(["x", "--distribute", "none"]) == ["x", "--distribute", "none"]
    assert with_multi_worker_flag(["x", "--distribute=mirrored"]) == ["x", "--distribute=mirrored"]
