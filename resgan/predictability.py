"""How much of the target pulses can any model predict from the inputs? (numpy only)

    python -m resgan.predictability --train_dir TRAIN_WAVS --test_dir TEST_WAVS [--context 3]

The pulse model's target (issue 18) is a held-out waveform MSE well below the
training set's mean pulse (`resgan.baselines`). Whether that is reachable at all
depends on the pulses, not only on the network: if the inputs carry little
information about a pulse's samples, no model gets far below the mean. This
module measures a reference read-out on the same footing as the pulse model: a
ridge regression (closed form) from the normalised inputs of ``2 * context + 1``
frames (MFCCs and log F0; the voicing flag is constant on voiced frames) and
their squares, fitted on the voiced frames of the training recordings and scored
on the voiced frames of the test recordings, beside silence and the training
set's mean voiced pulse.

Recordings are analysed exactly as ``train.py --mode evaluate --wav_dir`` analyses
them (`resgan.recordings`). Each test folder gets one JSON line (and, for several,
a last line over all of them): ``test_dir``, ``n_train_files``, ``n_test_files``, ``n_train_voiced``, ``n_test_voiced``,
``mse_zero_voiced``, ``mse_mean_pulse_voiced``, ``mse_ridge_voiced`` and
``ratio_ridge_mean`` (ridge / mean pulse; the pulse model's own ratio is
``mse_ratio_mean_pulse_voiced`` of ``train.py --mode evaluate``); ``--out`` also
writes them to a file.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from corpus.readers import list_wavs
from dsp.audio import InputError, atomic_output, check_output, cli_main
from dsp.metrics import significant
from resgan.constants import N_MFCC
from resgan.recordings import analyze_recordings

# the MFCCs and log F0: the voicing flag (last input) is 1 on every voiced frame
N_PREDICTORS = N_MFCC + 1


def context_frames(inputs, context):
    """Inputs of frames ``t - context .. t + context`` side by side, edges repeated.

    Args:
        inputs: float ``[frames, d]`` of one utterance.
        context: frames on each side (>= 0).
    Returns:
        float64 ``[frames, (2 * context + 1) * d]``, frame ``t - context`` first.
    """
    inputs = np.asarray(inputs, np.float64)
    n = len(inputs)
    padded = np.pad(inputs, ((context, context), (0, 0)), mode="edge")
    return np.concatenate([padded[k:k + n] for k in range(2 * context + 1)], axis=1)


class RidgeReadout:
    """Ridge regression from context inputs and their squares to pulses.

    Args:
        context: frames on each side of the predicted one.
        l2: ridge penalty on the normalised features (the bias is not penalised).
    """

    def __init__(self, context=3, l2=10.0):
        if context < 0 or l2 < 0:
            raise ValueError(f"context and l2 must be >= 0, got {context} and {l2}")
        self.context, self.l2 = int(context), float(l2)
        self.mean = self.scale = self.weights = None

    def _features(self, contexts):
        """Features ``[frames, 2 * c + 1]`` of `context_frames` output ``[frames, c]``."""
        z = (contexts - self.mean) / self.scale
        return np.concatenate([z, z ** 2, np.ones((len(z), 1))], axis=1)

    def fit(self, utterances):
        """Fit on ``[(inputs [frames, d], targets [frames, 400], voiced bool [frames])]``."""
        voiced = [context_frames(x, self.context)[v] for x, _, v in utterances]
        stacked = np.concatenate(voiced)
        if len(stacked) == 0:
            raise InputError("no voiced training frame")
        self.mean, self.scale = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9
        n_features = 2 * stacked.shape[1] + 1
        gram = np.zeros((n_features, n_features))
        cross = np.zeros((n_features, utterances[0][1].shape[1]))
        for contexts, (_, y, v) in zip(voiced, utterances):   # sufficient statistics, one utterance at a time
            f = self._features(contexts)
            gram += f.T @ f
            cross += f.T @ np.asarray(y, np.float64)[v]
        penalty = self.l2 * np.eye(n_features)
        penalty[-1, -1] = 0.0
        self.weights = np.linalg.solve(gram + penalty, cross)
        return self

    def predict(self, inputs):
        """Pulses ``float64 [frames, 400]`` of one utterance's inputs."""
        if self.weights is None:
            raise RuntimeError("fit() first")
        return self._features(context_frames(inputs, self.context)) @ self.weights


def measure(train, tests, context=3, l2=10.0):
    """The JSON fields of the module doc (without the file counts), per test set.

    Args:
        train: ``[(inputs [frames, d], targets [frames, 400], voiced bool [frames])]``.
        tests: ``{name: [...]}`` utterances of the same form.
    Returns:
        ``{name: {field: value}}``.
    """
    n_train_voiced = int(sum(int(np.sum(v)) for _, _, v in train))
    if n_train_voiced == 0:
        raise InputError("no voiced training frame")
    mean_pulse = sum(np.asarray(y, np.float64)[v].sum(axis=0) for _, y, v in train) / n_train_voiced
    readout = RidgeReadout(context, l2).fit(train)
    return {name: _score(test, readout, mean_pulse, n_train_voiced) for name, test in tests.items()}


def _score(test, readout, mean_pulse, n_train_voiced):
    sums = {"zero": 0.0, "mean_pulse": 0.0, "ridge": 0.0}
    count = n_voiced = 0
    for x, y, v in test:
        y = np.asarray(y, np.float64)[v]
        sums["zero"] += float(np.sum(y ** 2))
        sums["mean_pulse"] += float(np.sum((y - mean_pulse) ** 2))
        sums["ridge"] += float(np.sum((y - readout.predict(x)[v]) ** 2))
        count += y.size
        n_voiced += len(y)
    if count == 0:
        raise InputError("no voiced test frame")
    out = {"n_train_voiced": n_train_voiced, "n_test_voiced": n_voiced}
    out.update({f"mse_{k}_voiced": total / count for k, total in sums.items()})
    out["ratio_ridge_mean"] = out["mse_ridge_voiced"] / out["mse_mean_pulse_voiced"]
    return out


def _utterances(paths, skip_bad, max_files):
    recordings = analyze_recordings(paths[:max_files] if max_files else paths, skip_bad)
    return [(r.features.inputs[:, :N_PREDICTORS], r.features.targets, r.features.voiced.astype(bool))
            for r in recordings]


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--train_dir", required=True, help="recordings the read-out is fitted on")
    p.add_argument("--test_dir", required=True, nargs="+",
                   help="recordings it is scored on (held out); several folders: a line each, then all")
    p.add_argument("--context", type=int, default=3, help="input frames on each side (5 ms each)")
    p.add_argument("--l2", type=float, default=10.0, help="ridge penalty on the normalised features")
    p.add_argument("--max_files", type=int, default=None, help="use only the first N files of each folder")
    p.add_argument("--skip_bad", action="store_true", help="skip unusable recordings (a warning each)")
    p.add_argument("--out", default=None, help="also write the JSON lines to this file")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    RidgeReadout(args.context, args.l2)   # refuses bad settings (one line) before the analysis
    if args.out:   # an unwritable output stops the run before the analysis
        check_output(args.out)
    # every folder is listed before any analysis, and analysed before anything is printed
    paths = {folder: list_wavs(folder) for folder in [args.train_dir, *args.test_dir]}
    train = _utterances(paths[args.train_dir], args.skip_bad, args.max_files)
    tests = {folder: _utterances(paths[folder], args.skip_bad, args.max_files) for folder in args.test_dir}
    if len(tests) > 1:
        tests["all"] = [u for folder in args.test_dir for u in tests[folder]]
    lines = []
    for name, scores in measure(train, tests, args.context, args.l2).items():
        result = {"test_dir": str(name), "n_train_files": len(train), "n_test_files": len(tests[name])}
        result.update(scores)
        lines.append(json.dumps(significant(result)))
    print("\n".join(lines))
    if args.out:
        with atomic_output(args.out) as tmp:
            tmp.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
