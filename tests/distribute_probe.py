"""The strategy experiment of the pipelines' distribute tests (tests/*/test_*_distribute.py).

A trainer's command runs to the end under `tests.resume_probe` (deterministic kernels, one
thread: `DETERMINISTIC`) once per setting, all settings at the same time in their own
folders: ``--distribute none``, ``--distribute mirrored --logical_cpus 2`` and a
``--mixed_precision`` run. The probe records the weights before the first step and when
``fit`` returns, so the final weights of the strategies can be compared.
"""
import numpy as np

from tests.resume_probe import final_path, max_abs_diff, read_probe, start

MIRRORED = ("--distribute", "mirrored", "--logical_cpus", "2")
SETTINGS = {"none": ("--distribute", "none"), "mirrored": MIRRORED, "mixed": ("--mixed_precision",)}


def run_settings(tmp_path, command, settings=SETTINGS, timeout=900):
    """Run ``command(folder) + flags`` for every ``{name: flags}`` of ``settings`` concurrently.

    Returns:
        ``{name: {"folder", "log", "start", "final"}}``: the run folder, the output text,
        and the probe's weight lists before the first step and at the end.
    """
    procs = {}
    try:
        for name, flags in settings.items():
            folder = tmp_path / name
            folder.mkdir()
            procs[name] = (folder, *start([*command(folder), *flags], tmp_path, name))
        out = {}
        for name, (folder, proc, probe, log) in procs.items():
            rc = proc.wait(timeout=timeout)
            text = log.read_text()
            assert rc == 0, f"{name}: exit {rc}\n{text[-3000:]}"
            out[name] = {"folder": folder, "log": text, "start": read_probe(probe)[0],
                         "final": read_probe(final_path(probe))[0]}
        return out
    finally:
        for _, proc, _, _ in procs.values():
            if proc.poll() is None:
                proc.kill()


def compare(a, b, skip=()):
    """``(max |a - b| over the final weights, max movement of a from its start)``, the weight
    arrays at the indices in ``skip`` left out of both."""
    keep = [i for i in range(len(a["final"])) if i not in set(skip)]

    def pick(run, key):
        return [run[key][i] for i in keep]
    return (max_abs_diff(pick(a, "final"), pick(b, "final")),
            max_abs_diff(pick(a, "final"), pick(a, "start")))


def finite_losses(csv_text_rows, key="loss"):
    """The ``key`` column of CSVLogger rows as floats, asserted finite."""
    values = np.array([float(r[key]) for r in csv_text_rows])
    assert values.size and np.all(np.isfinite(values)), values
    return values
