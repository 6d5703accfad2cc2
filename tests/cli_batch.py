"""Run command lines as a user would, many of them in one process, and read their stderr.

`run_cli` runs one command line in a subprocess; `run_batch` runs many command
lines (of one or several commands) in turn in a single subprocess (this module as
``python -m tests.cli_batch SPEC.json``), each with its own stdout/stderr file
descriptors, its own ``sys.argv`` and a fresh ``__main__`` module, so the ~5-8 s
Keras import is paid once instead of once per case. A command's run is the same as
in its own process except that modules imported before stay imported (the notice
de-duplication of `dsp.audio` is reset). `message_lines` keeps a command's own
lines of stderr: TensorFlow/absl start-up noise and progress bars are dropped.
"""
import json
import os
import re
import runpy
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from dsp import audio as dsp_audio

REPO = Path(__file__).resolve().parents[1]

# TensorFlow / absl start-up noise (printed by C++ before TF_CPP_MIN_LOG_LEVEL can act, or by
# Python loggers): not the command's own words, so not counted.
_TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]"                   # absl/glog: I0000 00:00:17.5 123 port.cc:153]
    r"|To enable the following instructions: "                 # continuation of cpu_feature_guard
    r"|WARNING:(absl|tensorflow):"
    r")")
# A tqdm progress bar, possibly several refreshes joined by carriage returns.
_PROGRESS = re.compile(r"^(.*: )?\s*\d+%\|.*\|.*(\]|it/s|s/it)\s*$")


def is_tf_noise(line):
    """True for a TensorFlow/absl log line (not the command's own output)."""
    return bool(_TF_NOISE.match(line.strip()))


def message_lines(stderr):
    """The command's own lines on stderr: without TF/absl noise, progress bars and blank lines.

    A progress bar redrawn with carriage returns counts as its last state; a bar is
    progress, not a message, so it is dropped too.
    """
    lines = []
    for raw in stderr.splitlines():
        line = raw.split("\r")[-1].strip() if "\r" in raw else raw.strip()
        if not line or is_tf_noise(line) or _PROGRESS.match(line):
            continue
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- running commands

@dataclass
class CliResult:
    """What one command line did: exit code, stdout, stderr, and its argv."""

    returncode: int
    stdout: str
    stderr: str
    argv: list

    @property
    def lines(self):
        return message_lines(self.stderr)


def _command(target):
    """``[python, script]`` for a root script (``get_mfcc.py``), ``[python, -m, mod]`` for a module."""
    if target.endswith(".py"):
        return [sys.executable, str(REPO / target)]
    return [sys.executable, "-m", target]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def run_cli(target, argv, cwd, timeout=600):
    """Run ``target`` (a root script or a module) with `argv` in its own process, in `cwd`."""
    argv = [str(a) for a in argv]
    proc = subprocess.run(_command(target) + argv, cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr, argv)


def run_cli_batch(target, argvs, cwd, timeout=1200):
    """Run ``target`` once per argv of `argvs`, all in ONE process; a `CliResult` each."""
    return run_batch([(target, argv) for argv in argvs], cwd, timeout)


def run_batch(jobs, cwd, timeout=1800):
    """Run every ``(target, argv)`` of `jobs` in turn in ONE process (see module doc); a `CliResult` each."""
    cwd = Path(cwd)
    cwd.mkdir(parents=True, exist_ok=True)
    spec = cwd / f".batch_{os.getpid()}_{len(list(cwd.glob('.batch_*')))}.json"
    jobs = [(target, [str(a) for a in argv]) for target, argv in jobs]
    spec.write_text(json.dumps({"jobs": jobs}))
    out = spec.with_suffix(".out.json")
    try:
        proc = subprocess.run([sys.executable, "-m", "tests.cli_batch", str(spec)], cwd=cwd,
                              env=_env(), capture_output=True, text=True, timeout=timeout)
        results = json.loads(out.read_text()) if proc.returncode == 0 else None
    finally:
        spec.unlink(missing_ok=True)
        out.unlink(missing_ok=True)
    if results is None:
        raise RuntimeError(f"batch runner failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return [CliResult(r["returncode"], r["stdout"], r["stderr"], argv) for r, (_, argv) in zip(results, jobs)]


def _run_in_process(target, argv, scratch):
    """Run one command line here as ``__main__``, capturing fds 1 and 2; returns a result dict."""
    dsp_audio.reset_notices()   # the de-duplicated notices start afresh, as in a new process
    out_path, err_path = scratch / "stdout.txt", scratch / "stderr.txt"
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    code = 0
    with open(out_path, "w") as out, open(err_path, "w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        saved_argv = sys.argv
        try:
            if target.endswith(".py"):
                sys.argv = [str(REPO / target)] + argv
                runpy.run_path(str(REPO / target), run_name="__main__")
            else:
                sys.argv = [target] + argv
                runpy.run_module(target, run_name="__main__", alter_sys=False)
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:               # sys.exit("message"): Python prints it and exits 1
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:   # what Python does with an uncaught exception
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = saved_argv
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
    return {"returncode": code, "stdout": out_path.read_text(errors="replace"),
            "stderr": err_path.read_text(errors="replace")}


def _batch_main(spec_path):
    spec_path = Path(spec_path)
    spec = json.loads(spec_path.read_text())
    scratch = spec_path.parent / (spec_path.stem + "_io")
    scratch.mkdir(exist_ok=True)
    results = [_run_in_process(target, argv, scratch) for target, argv in spec["jobs"]]
    for p in scratch.iterdir():
        p.unlink()
    scratch.rmdir()
    spec_path.with_suffix(".out.json").write_text(json.dumps(results))


if __name__ == "__main__":
    _batch_main(sys.argv[1])
