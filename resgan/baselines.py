"""The pulse model's input-independent baselines (numpy only).

A pulse model has learned something only when its held-out waveform MSE falls
below what needs no input at all: predicting silence (``zero``), and predicting
the training set's mean pulse (``mean``: the mean over all training frames,
scored on all frames, and the mean over voiced training frames, scored on
voiced frames). `PulseBaselines` holds both means and scores them;
``resgan.training.LearningCurve`` logs them beside the model's held-out MSEs
every epoch, so the CSV log and ``figures/resgan_learning_curve.png`` show
them measured in the same run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resgan.constants import PULSE_LENGTH
from resgan.netcdf import iterate_files, voiced_frames


@dataclass
class PulseBaselines:
    """Mean target pulses ``[400]`` of a training set: all frames and voiced frames."""

    mean_all: np.ndarray
    mean_voiced: np.ndarray

    @classmethod
    def from_files(cls, files):
        """Means over every frame of the training ``data.ncK`` files."""
        total, total_v = np.zeros(PULSE_LENGTH), np.zeros(PULSE_LENGTH)
        count = count_v = 0
        for data in iterate_files(files):
            voiced = voiced_frames(data)
            total += data.targets.sum(axis=0, dtype=np.float64)
            total_v += data.targets[voiced].sum(axis=0, dtype=np.float64)
            count += len(voiced)
            count_v += int(voiced.sum())
        if count == 0:
            raise ValueError("no training frames for the mean-pulse baseline")
        mean_v = total_v / max(count_v, 1)
        return cls((total / count).astype(np.float32), mean_v.astype(np.float32))

    def scores(self, y, voiced):
        """``{mse_zero_all, mse_mean_pulse_all, mse_zero_voiced, mse_mean_pulse_voiced}``
        of targets ``y [n, 400]`` with voicing ``voiced [n]``."""
        y = np.asarray(y, np.float64)
        yv = y[np.asarray(voiced, bool)]
        out = {"mse_zero_all": float(np.mean(y ** 2)),
               "mse_mean_pulse_all": float(np.mean((y - self.mean_all) ** 2))}
        if len(yv):
            out.update(mse_zero_voiced=float(np.mean(yv ** 2)),
                       mse_mean_pulse_voiced=float(np.mean((yv - self.mean_voiced) ** 2)))
        return out


def pulse_mse(pred, y, voiced):
    """``{mse_pulse_all, mse_pulse_voiced}`` of predicted pulses ``[n, 400]``."""
    err = (np.asarray(pred, np.float64) - np.asarray(y, np.float64)) ** 2
    voiced = np.asarray(voiced, bool)
    out = {"mse_pulse_all": float(err.mean())}
    if voiced.any():
        out["mse_pulse_voiced"] = float(err[voiced].mean())
    return out
