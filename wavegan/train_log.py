"""The GAN trainer's per-step CSV log (trimmed to the checkpoint on resume) and its state file."""
import csv
import json
import time
from pathlib import Path

import numpy as np

from dsp.audio import atomic_output

COLUMNS = ("step", "d_loss", "g_loss", "gp", "wasserstein", "wall_time")


def read_state(path):
    """The JSON state beside a checkpoint as a dict ({} when missing or unreadable)."""
    try:
        state = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def trim_step_log(path, steps_done):
    """Keep the header and the rows of steps <= `steps_done` of a log.csv.

    The rows after the checkpoint are those of steps a resumed run repeats; without
    this they would appear twice. Nothing happens when the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    keep = lines[:1] + [ln for ln in lines[1:]
                        if ln.split(",", 1)[0].strip().isdigit()
                        and int(ln.split(",", 1)[0]) <= steps_done]
    if len(keep) < len(lines):
        with atomic_output(path) as tmp:
            Path(tmp).write_text("".join(keep))


class StepLog:
    """Appends one CSV row per generator step: step, d_loss, g_loss, gp, wasserstein, wall_time.

    Args:
        path: the log file; a new one (header only) when `steps_done` is 0,
            else the old one trimmed to `steps_done` (`trim_step_log`).
        steps_done: int, the step the run starts after.
    """

    def __init__(self, path, steps_done):
        self.path = Path(path)
        self.times = []      # wall time after each step of this process
        self.cpu_times = []  # this process's CPU time (all threads) after each step
        if steps_done:
            trim_step_log(self.path, steps_done)
        if not steps_done or not self.path.is_file():
            with atomic_output(self.path) as tmp:
                Path(tmp).write_text(",".join(COLUMNS) + "\n")

    def write(self, step, logs, wall_time):
        """Append the row of `step` from the step's logs (dict of scalars); returns it as a dict."""
        row = {"step": int(step), "wall_time": round(float(wall_time), 3)}
        for key in COLUMNS[1:-1]:
            row[key] = float(np.asarray(logs.get(key, np.nan)))
        self.times.append(float(wall_time))
        self.cpu_times.append(time.process_time())
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([row[k] for k in COLUMNS])
        return row

    def timing(self, n):
        """(wall s, CPU s) per step over this process's steps 2 .. n (the first traces the graph).

        The CPU seconds (summed over threads) do not depend on what else runs on the
        machine: on an idle 2-core machine a step takes about half of them.
        Returns None before 3 steps.
        """
        if len(self.times) < 3:
            return None
        k = min(n, len(self.times)) - 1
        return ((self.times[k] - self.times[0]) / k, (self.cpu_times[k] - self.cpu_times[0]) / k)
