"""The bad-input matrix of issue 22: every CLI that reads audio, features or models, on one set of inputs.

Each CLI (`tests.bad_input_clis`) is run on every case that applies to it (`tests.bad_inputs`). A refused case
must give exactly one line on stderr (TensorFlow/absl start-up noise and progress bars
aside) that names the bad file (or folder) and says what is wrong, a non-zero exit, no
traceback, and leave the output folder as it was. The inputs a CLI must accept
(stereo 44.1 kHz, 8-bit at 22.05 kHz, 24-bit: a folder of five files, or one stereo
file) are accepted with exactly one conversion notice, not one per file.

The cases of all the CLIs without Keras run in ONE process, those of all the Keras
CLIs in another (`run_batch`): the 5-8 s Keras import is paid once. The CLIs without
Keras run unmarked (seconds); the Keras ones are `slow`. The
`test_batch_runner_matches_a_real_process*` tests check that a batched run is what a
process of its own does. Set AUDIOSYNTH_MATRIX_TABLE=FILE.md to also write the
matrix (CLI x case -> exit code, the line) as a markdown table.
"""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.bad_input_clis import (ACCEPTED, BY_NAME, CASES, CLIS, NPZ_AS, Anything, Inputs, KerasInputs,
                                  named_paths)
from tests.bad_inputs import PROBLEM_WORDS, files_under, unwritable
from tests.cli_batch import message_lines, run_batch, run_cli


@pytest.fixture(scope="session")
def inputs(tmp_path_factory):
    return Inputs(tmp_path_factory.mktemp("matrix_inputs"))


class MatrixRuns:
    """Runs the cases of every CLI of a group (with or without Keras) in one batch, once; keeps the results."""

    def __init__(self, inputs, root):
        self.inputs, self.root, self.done = inputs, Path(root), {}

    def outcome(self, cli, case):
        """``(CliResult, output folder, snapshot of it before the run)`` of `cli` on `case`."""
        if cli.name not in self.done:
            self._run([c for c in CLIS if c.keras == cli.keras])
        if case not in self.done[cli.name]:
            pytest.skip(f"{case} could not be set up on this system")
        return self.done[cli.name][case]

    def _run(self, clis):
        jobs, where = [], []
        with unwritable(self.inputs.ro) as ro:
            for cli in clis:
                folder = self.root / cli.name.replace(" ", "_").replace("/", "_")
                for case in CASES + (ACCEPTED,):
                    if cli.argv(case, self.inputs, folder / case) is None or (case == "unwritable" and ro is None):
                        continue   # not applicable (or no way to make a folder unwritable here)
                    out = folder / case
                    if cli.name == "wavenet.train" and case == "truncated_keras":
                        shutil.copytree(self.inputs.keras.wavenet_run, out)
                    out.mkdir(parents=True, exist_ok=True)
                    jobs.append((cli.target, cli.argv(case, self.inputs, out)))
                    where.append((cli.name, case, out, snapshot(out)))
            results = run_batch(jobs, self.root / "cwd")
        for (name, case, out, before), result in zip(where, results):
            self.done.setdefault(name, {})[case] = (result, out, before)


def snapshot(folder):
    """{relative path: (size, mtime_ns)} of every file under `folder`."""
    return {p: (os.stat(Path(folder) / p).st_size, os.stat(Path(folder) / p).st_mtime_ns)
            for p in files_under(folder)}


@pytest.fixture(scope="session")
def matrix(inputs, tmp_path_factory):
    runs = MatrixRuns(inputs, tmp_path_factory.mktemp("matrix_runs"))
    yield runs
    table = os.environ.get("AUDIOSYNTH_MATRIX_TABLE")
    if table and runs.done:
        Path(table).write_text(markdown_table(runs.done))


@pytest.fixture(scope="session")
def keras_matrix(matrix, inputs, tmp_path_factory):
    """The matrix with the Keras-made inputs added (slow tests only)."""
    if not hasattr(inputs, "keras"):
        inputs.keras = KerasInputs(tmp_path_factory.mktemp("matrix_keras_inputs"), inputs)
    return matrix


def markdown_table(done):
    """CLI x case -> ``exit code: the line`` (the markdown of the closing note)."""
    rows = ["| CLI | case | exit | stderr (the one line; accepted: the notice) |", "|---|---|---|---|"]
    for name, cases in done.items():
        for case, (result, _, _) in cases.items():
            lines = result.lines
            shown = lines[0] if case != ACCEPTED else next((ln for ln in lines if ln.startswith("note:")),
                                                            "(no notice)")
            if case != ACCEPTED and len(lines) != 1:
                shown = " / ".join(lines) or "(nothing)"
            rows.append(f"| {name} | {case} | {result.returncode} | `{shown.replace('|', '/')}` |")
    return "\n".join(rows) + "\n"


def check_refused(result, out, before, case, named):
    """The four promises of a refused run; returns its one line."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode != 0, f"accepted a bad input ({case}):\n{result.stderr[-1500:]}"
    lines = result.lines
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n" + "\n".join(lines)
    line = lines[0]
    assert line.startswith("error: "), line
    assert any(str(p) in line for p in named), f"{line!r} names none of {[str(p) for p in named]}"
    words = PROBLEM_WORDS.get(case, ())
    assert not words or any(w in line.lower() for w in words), f"{line!r} does not say {' / '.join(words)}"
    assert snapshot(out) == before, f"the refused run wrote {sorted(set(snapshot(out)) - set(before))}"
    return line


def check_accepted(result, out):
    """Exit 0, outputs written, exactly one conversion notice, no error or traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]
    conversions = [ln for ln in result.lines
                   if ln.startswith("note:") and ("resampled" in ln or "downmixed" in ln)]
    assert len(conversions) == 1, "expected one conversion notice:\n" + "\n".join(result.lines)
    assert not [ln for ln in result.lines if ln.startswith(("error:", "warning:"))], result.lines
    assert files_under(out), "nothing written"


def _params(keras):
    """(CLI, case) pairs that apply: the argv builders are asked with stand-in inputs."""
    marks = [pytest.mark.slow] if keras else []
    return [pytest.param(c.name, case, id=f"{c.name}-{case}", marks=marks)
            for c in CLIS if c.keras == keras for case in CASES + (ACCEPTED,)
            if c.argv(case, Anything(), Path("/out")) is not None]


def _check(matrix, inputs, name, case):
    cli = BY_NAME[name]
    result, out, before = matrix.outcome(cli, case)
    if case == ACCEPTED:
        check_accepted(result, out)
    else:
        words = NPZ_AS[case] if cli.target == "cnnvocoder.synthesis" and case in NPZ_AS else case
        check_refused(result, out, before, words, named_paths(cli, case, inputs, out))


@pytest.mark.parametrize("name,case", _params(keras=False))
def test_cli_without_keras(matrix, inputs, name, case):
    _check(matrix, inputs, name, case)


@pytest.mark.parametrize("name,case", _params(keras=True))
def test_cli_with_keras(keras_matrix, inputs, name, case):
    _check(keras_matrix, inputs, name, case)


def _same_as_alone(matrix, inputs, tmp_path, name, cases):
    """Each case run in a process of its own gives what the batch gave (exit code and the lines)."""
    cli = BY_NAME[name]
    for case in cases:
        batched, batch_out, _ = matrix.outcome(cli, case)
        out = tmp_path / case
        out.mkdir()
        alone = run_cli(cli.target, cli.argv(case, inputs, out), cwd=tmp_path)
        assert alone.returncode == batched.returncode
        strip = [ln.split(" in ")[0] for ln in alone.lines]     # get_mfcc's summary line ends in a time
        assert [ln.replace(str(out), "OUT") for ln in strip] == \
            [ln.split(" in ")[0].replace(str(batch_out), "OUT") for ln in batched.lines]


def test_batch_runner_matches_a_real_process(matrix, inputs, tmp_path):
    _same_as_alone(matrix, inputs, tmp_path, "get_mfcc.py --input_dir", ("truncated", ACCEPTED))


@pytest.mark.slow
def test_batch_runner_matches_a_real_process_with_keras(keras_matrix, inputs, tmp_path):
    _same_as_alone(keras_matrix, inputs, tmp_path, "wavenet.vocode", ("truncated_keras",))


def test_the_stderr_filter_drops_only_tensorflow_noise_and_progress_bars():
    stderr = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
              "I0000 00:00:1796289837.348096   20932 port.cc:153] oneDNN custom operations are on.\n"
              "E0000 00:00:17.5 123 cuda_dnn.cc:8310] Unable to register cuDNN factory\n"
              "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow\n"
              "note: x.wav: resampled from 44100 Hz to 16000 Hz\n"
              "get_mfcc:   0%|          | 0/3 [00:00<?, ?file/s]\r          \rerror: x.wav: file is empty\n"
              "packaging: 100%|##########| 3/3 [00:01<00:00,  2.50utt/s]\n"
              "Traceback (most recent call last):\n")
    assert message_lines(stderr) == ["note: x.wav: resampled from 44100 Hz to 16000 Hz",
                                     "error: x.wav: file is empty", "Traceback (most recent call last):"]


def test_cases_are_what_they_claim(inputs):
    """The generated inputs are bad (and good) in the intended way, read independently with soundfile."""
    a = inputs.audio
    assert a["empty"].stat().st_size == 0 and a["folder_as_file"].is_dir()
    assert sf.info(str(a["header_only"])).frames == 0
    declared = int.from_bytes(a["truncated"].read_bytes()[40:44], "little")
    assert declared > a["truncated"].stat().st_size - 44 > 0          # the header promises more than is there
    x, _ = sf.read(str(a["nan_inf"]))
    assert np.isnan(x).any() and np.isinf(x).any()
    assert not np.any(sf.read(str(a["zeros"]))[0]) and sf.info(str(a["one_sample"])).frames == 1
    acc = inputs.bad.accepted
    assert (sf.info(str(acc["stereo_44k"])).channels, sf.info(str(acc["stereo_44k"])).samplerate) == (2, 44100)
    assert sf.info(str(acc["pcm8"])).subtype == "PCM_U8" and sf.info(str(acc["pcm24"])).subtype == "PCM_24"
    with pytest.raises(Exception):
        sf.read(str(a["not_audio"]))
