"""Interrupted-training tests (issue 22): run a trainer's command in a subprocess, kill it
with SIGKILL in the middle of an epoch, resume it, and compare with an uninterrupted run.

    python -m tests.resume_probe PROBE.npz train.py --mode train_pulse_model ...
    python -m tests.resume_probe PROBE.npz -m wavenet.train ...

runs the command unchanged except that ``keras.Model.fit`` gets one more callback, last
in the list: before the first training step (after every restore done in
``on_train_begin``) it writes the model's weights, the first epoch's index and the
optimizers' step counts to PROBE.npz, and the same when training ends to
PROBE.final.npz. The product code knows nothing of it.

`check_resume` is the experiment every trainer's test runs (`start`, `run`, `run_killed`,
`read_probe` ... are its parts); every command runs with deterministic kernels on one
thread (`DETERMINISTIC`), the uninterrupted reference alongside the interrupted run.
"""
import csv
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import keras
import numpy as np

REPO = Path(__file__).resolve().parent.parent
DETERMINISTIC = {"TF_DETERMINISTIC_OPS": "1", "TF_NUM_INTRAOP_THREADS": "1",
                 "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
                 "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow",
                 "MPLBACKEND": "Agg"}
OPTIMIZERS = ("optimizer", "g_optimizer", "d_optimizer")


# ------------------------------------------------------------------ the probe (subprocess side)
def final_path(probe):
    """Where the probe writes the state at the end of training."""
    return Path(probe).with_suffix(".final.npz")


def _probe_callback(path):
    class Probe(keras.callbacks.Callback):
        """Write the state the first training step starts from to ``path`` (once), and the
        state at the end of training to ``final_path(path)``."""

        epoch, written = None, False

        def on_epoch_begin(self, epoch, logs=None):
            if self.epoch is None:
                self.epoch = epoch

        def _write(self, target):
            out = {f"w{i:04d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(self.model.weights)}
            out["epoch"] = np.int64(-1 if self.epoch is None else self.epoch)
            for name in OPTIMIZERS:
                opt = getattr(self.model, name, None)
                if opt is not None and hasattr(opt, "iterations"):
                    out[f"iterations_{name}"] = np.int64(opt.iterations.numpy())
            tmp = Path(f"{target}.tmp.npz")
            np.savez(tmp, **out)
            os.replace(tmp, target)

        def on_train_batch_begin(self, batch, logs=None):
            if not self.written:
                self.written = True
                self._write(path)

        def on_train_end(self, logs=None):
            self._write(final_path(path))

    return Probe()


def _main(argv):
    probe, command = argv[0], argv[1:]
    fit = keras.Model.fit

    def probed_fit(self, *args, **kwargs):
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _probe_callback(probe)]
        return fit(self, *args, **kwargs)

    keras.Model.fit = probed_fit
    if command[0] == "-m":
        sys.argv = [command[1], *command[2:]]
        runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = command
        runpy.run_path(command[0], run_name="__main__")


# ------------------------------------------------------------------ the test side
def start(command, folder, name):
    """Start ``command`` (``["train.py", ...]`` or ``["-m", "pkg.mod", ...]``) under the probe.

    Returns ``(process, probe_path, log_path)``; stdout and stderr go to ``folder/name.log``.
    """
    folder = Path(folder)
    probe, log = folder / f"{name}.probe.npz", folder / f"{name}.log"
    env = {**os.environ, **DETERMINISTIC}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.resume_probe", str(probe), *command],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, probe, log


def run(command, folder, name, timeout=600):
    """Run ``command`` to the end under the probe; returns ``(probe_path, log_text)``."""
    proc, probe, log = start(command, folder, name)
    rc = proc.wait(timeout=timeout)
    text = log.read_text()
    assert rc == 0, f"{name}: exit {rc}\n{text[-3000:]}"
    return probe, text


def run_killed(command, folder, name, saved_epoch, delay=0.4, timeout=600):
    """Start ``command``; once ``saved_epoch()`` (the epochs its checkpoint holds) is >= 1,
    wait ``delay`` s (into the next epoch) and SIGKILL it. Returns the epochs saved at the kill."""
    proc, _, log = start(command, folder, name)
    t0 = time.monotonic()
    while proc.poll() is None and saved_epoch() < 1:
        assert time.monotonic() - t0 < timeout, f"{name}: no checkpoint after {timeout} s"
        time.sleep(0.02)
    time.sleep(delay)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not finished and proc.returncode == -signal.SIGKILL, \
        f"{name}: ended (exit {proc.returncode}) before the kill\n{log.read_text()[-3000:]}"
    return saved_epoch()


def read_probe(path):
    """``(weights list, first epoch index, {optimizer name: step count})`` written by the probe."""
    with np.load(path) as d:
        weights = [d[k] for k in sorted(k for k in d.files if k.startswith("w"))]
        steps = {k[len("iterations_"):]: int(d[k]) for k in d.files if k.startswith("iterations_")}
        return weights, int(d["epoch"]), steps


def max_abs_diff(a, b):
    """Largest |a - b| over two equally long lists of arrays (shapes must match)."""
    assert len(a) == len(b), f"{len(a)} vs {len(b)} weight arrays"
    out = 0.0
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape, f"shape {x.shape} vs {y.shape}"
        if x.size:
            out = max(out, float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
    return out


def csv_epochs(path):
    """``(epochs, rows)`` of a Keras CSVLogger file: the 0-based epoch column and the rows as dicts."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [int(r["epoch"]) for r in rows], rows


def checkpoint_files(folder):
    """The checkpoints under ``folder`` (``*.keras``, ``*.weights.h5``), temporary names excluded."""
    return sorted(p for pattern in ("*.keras", "*.weights.h5") for p in Path(folder).rglob(pattern)
                  if not p.name.startswith("."))


def assert_checkpoints_load(folder):
    """Every checkpoint under ``folder`` loads: ``.keras`` with Keras (model and optimizer),
    ``.h5`` by reading every array in it. Returns how many there are."""
    files = checkpoint_files(folder)
    for path in files:
        if path.suffix == ".keras":
            keras.saving.load_model(path)
        else:
            with h5py.File(path, "r") as f:
                f.visititems(lambda _, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)
    return len(files)


def check_resume(tmp_path, command, saved_epoch, load, resumed_text, epochs, steps, log=None,
                 loss_keys=(), optimizer="optimizer", tolerance=0.0, name="", delay=0.4):
    """Kill a run mid-epoch, resume it, compare it with an uninterrupted run (issue 22).

    The reference trains in ``tmp_path/reference`` while the run in ``tmp_path/run`` is
    killed after its first checkpoint and resumed. Asserts: the checkpoints left by the
    kill load; the resumed run prints ``resumed_text(saved)``, and its first step starts
    epoch ``saved`` (0-based: not from zero) from the checkpoint's weights and optimizer
    step, exactly; its final weights (when fit returns) equal the reference's within
    ``tolerance``; its log lists every epoch once, with the reference's ``loss_keys``.

    Args:
        command: folder -> the command line that trains into that folder.
        saved_epoch: folder -> the epochs its resume checkpoint holds (0: none yet).
        load: folder -> ``(weights list in model.weights order, optimizer step count)``
            of the resume checkpoint.
        log: folder -> its CSV log (None: no log check).
        optimizer: the model attribute whose step count the probe reports.
    Returns:
        ``{"saved": epochs at the kill, "resumed_from": first epoch of the resumed run
        (0-based), "max_dw": max |w_resumed - w_reference|}`` (also printed).
    """
    ref_dir, run_dir = tmp_path / "reference", tmp_path / "run"
    reference = start(command(ref_dir), tmp_path, "reference")[0]
    try:
        saved = run_killed(command(run_dir), tmp_path, "killed", lambda: saved_epoch(run_dir), delay)
        assert 1 <= saved < epochs, f"killed after epoch {saved} of {epochs}"
        assert assert_checkpoints_load(run_dir) >= 1
        at_kill, at_kill_steps = load(run_dir)
        assert at_kill_steps == saved * steps

        probe, out = run(command(run_dir), tmp_path, "resumed")
        weights, first_epoch, opt_steps = read_probe(probe)
        assert resumed_text(saved) in out, out[-2000:]
        assert first_epoch == saved and opt_steps[optimizer] == saved * steps
        assert max_abs_diff(weights, at_kill) == 0.0  # the very weights of the checkpoint
        assert reference.wait(timeout=600) == 0, (tmp_path / "reference.log").read_text()[-3000:]
    finally:
        if reference.poll() is None:
            reference.kill()
    final, _, final_steps = read_probe(final_path(probe))  # the weights when fit returned
    ref_final, _, ref_steps = read_probe(final_path(tmp_path / "reference.probe.npz"))
    assert final_steps[optimizer] == ref_steps[optimizer] == epochs * steps
    diff = max_abs_diff(final, ref_final)
    assert diff <= tolerance, f"resumed vs uninterrupted: max |dw| = {diff:.3g}"
    if log is not None:
        rows, ref_rows = csv_epochs(log(run_dir))[1], csv_epochs(log(ref_dir))[1]
        assert [int(r["epoch"]) for r in rows] == [int(r["epoch"]) for r in ref_rows] == list(range(epochs))
        for row, ref in zip(rows, ref_rows):
            for key in loss_keys:
                a, b = float(row[key]), float(ref[key])
                assert abs(a - b) <= 1e-6 * abs(b) + 1e-9, (key, row, ref)
    print(f"\n{name}: checkpoint at kill holds {saved} epoch(s); resumed run starts epoch index "
          f"{first_epoch}; max |dw| vs uninterrupted {diff:.3g} (tolerance {tolerance})")
    return {"saved": saved, "resumed_from": first_epoch, "max_dw": diff}


if __name__ == "__main__":
    _main(sys.argv[1:])
