"""AudioRNN command lines: presets, short and long flags, bad input, the stage scripts."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from audiornn import AudioRNN, AudioRNNData, AudioRNNEval
from dsp.audio import InputError
from tests.audiornn.tones import write_tones

REPO = Path(__file__).resolve().parents[2]
STAGES = ("00_data.sh", "01_train.sh", "02_generate.sh", "03_eval.sh")
SIZES = ("timesteps", "neurons", "batchsize", "accumulate", "epochs", "steps_per_epoch",
         "val_windows", "genlength", "num_streams", "temperature")


def _run(cmd, env=None, timeout=120):
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# ---------------------------------------------------------------- presets and flags
def test_presets_resolve_to_the_documented_values():
    default = AudioRNN.parse_arguments(["-t"])
    assert default.preset == "default"
    assert [getattr(default, k) for k in SIZES] == [128, 128, 32, 1, 5, 150, 1024, 2.0, 2, 0.9]
    original = AudioRNN.parse_arguments(["-t", "--preset", "original"])
    assert [getattr(original, k) for k in SIZES] == [1000, 256, 128, 8, 50, 2000, 4096, 2.0, 1, 0.0]
    for args in (default, original):  # settings outside the presets keep their defaults
        assert (args.samplerate, args.mu, args.val_fraction, args.seed) == (8000, 255, 0.1, 0)
        AudioRNN.check_args(args)


def test_flags_beat_the_preset_and_a_partial_preset_file_layers_over_default(tmp_path):
    args = AudioRNN.parse_arguments(["-t", "--preset", "original", "-ts", "64", "--epochs", "2"])
    assert (args.timesteps, args.epochs, args.neurons) == (64, 2, 256)
    mine = tmp_path / "mine.json"
    mine.write_text('{"_comment": "longer", "epochs": 7}')
    args = AudioRNN.parse_arguments(["-t", "--preset", str(mine)])
    assert (args.epochs, args.timesteps, args.batchsize) == (7, 128, 32)
    with pytest.raises(InputError, match="no preset named 'paper'"):
        AudioRNN.parse_arguments(["-t", "--preset", "paper"])
    mine.write_text('{"epoch": 7}')
    with pytest.raises(InputError, match="unknown setting"):
        AudioRNN.parse_arguments(["-t", "--preset", str(mine)])


def test_short_and_long_flags_are_the_same_options():
    short = ["-d", "D", "-sr", "16000", "-t", "-g", "-ts", "50", "-n", "20", "-b", "8", "-e", "2",
             "-m", "x.keras", "-a", "y.wav", "-gl", "0.5"]
    long = ["--data_dir", "D", "--samplerate", "16000", "--train", "--generate", "--timesteps", "50",
            "--neurons", "20", "--batchsize", "8", "--epochs", "2", "--model", "x.keras",
            "--audio", "y.wav", "--genlength", "0.5"]
    assert AudioRNN.parse_arguments(short) == AudioRNN.parse_arguments(long)
    args = AudioRNN.parse_arguments(short)
    assert (args.data_dir, args.samplerate, args.timesteps, args.model, args.audio) == \
        ("D", 16000, 50, "x.keras", "y.wav")
    assert args.resume is True and AudioRNN.parse_arguments(["--no-resume"]).resume is False
    parse = AudioRNNData.build_parser().parse_args
    assert parse(["-d", "D", "-sr", "16000", "-o", "c.npz"]) == \
        parse(["--data_dir", "D", "--samplerate", "16000", "--output", "c.npz"])
    parse = AudioRNNEval.build_parser().parse_args
    assert parse(["-m", "x.keras", "-a", "y.wav", "-d", "D"]) == \
        parse(["--model", "x.keras", "--audio", "y.wav", "--data_dir", "D"])


def test_cli_argument_checks():
    for argv, msg in ((["-t", "-b", "32", "--accumulate", "3"], "accumulate"),
                      (["-t", "-ts", "0"], "timesteps"),
                      (["-t", "--val_fraction", "1.5"], "val_fraction"),
                      ([], "nothing to do")):
        with pytest.raises(InputError, match=msg):
            AudioRNN.check_args(AudioRNN.parse_arguments(argv))


# ---------------------------------------------------------------- bad input, one line
def test_cli_bad_input_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    r = _run([sys.executable, "-m", "audiornn.AudioRNN", "-d", str(tmp_path / "empty"), "-t",
              "-m", str(tmp_path / "m.keras")])
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: {tmp_path / 'empty'}: no .wav files found (searched recursively)"]


@pytest.mark.parametrize("module, argv", [
    ("audiornn.AudioRNN", ["-g"]),
    ("audiornn.AudioRNNEval", []),
])
def test_generate_and_eval_without_a_model_one_line(tmp_path, module, argv):
    model = tmp_path / "none.keras"
    r = _run([sys.executable, "-m", module, "-m", str(model)] + argv)
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: {model}: model file not found (train first with -t)"]


# ---------------------------------------------------------------- stage scripts
@pytest.mark.parametrize("script", ("run.sh",) + STAGES)
def test_stage_scripts_answer_help(script):
    r = _run(["bash", f"audiornn/{script}", "--help"])
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("AudioRNN") and "Usage: audiornn/" + script in r.stdout
    assert "--stage N --stop_stage M" in r.stdout


@pytest.mark.parametrize("script", ("run.sh",) + STAGES)
def test_stage_scripts_refuse_an_unknown_flag_in_one_line(script):
    r = _run(["bash", f"audiornn/{script}", "--datadir", "somewhere"])  # the old spelling
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [f"error: {script}: unknown option --datadir (see --help)"]


@pytest.fixture
def fake_python(tmp_path, recording_python):
    """A `python` first on PATH that only logs its arguments: what would each stage run?"""

    def run(*argv):
        r = _run(["bash", "audiornn/run.sh", "--model", str(tmp_path / "m" / "a.keras")] + list(argv),
                 env=recording_python.env)
        assert r.returncode == 0, r.stderr
        return r.stdout, ["python " + call for call in recording_python.calls(clear=True)]

    return run


def test_run_sh_selects_stages_and_passes_options_on(fake_python, tmp_path):
    out, calls = fake_python("--stage", "1", "--stop_stage", "2", "--preset", "original",
                             "--epochs", "3", "--resume", "false", "--temperature=0.5")
    assert "stage 0" not in out and "stage 1" in out and "stage 2" in out and "stage 3" not in out
    assert len(calls) == 2
    model = str(tmp_path / "m" / "a.keras")
    assert calls[0].startswith(f"python -m audiornn.AudioRNN -t --preset original -d "
                               f"data/audiornn_corpus -sr 8000 -m {model}")
    assert calls[0].endswith("--seed 0 --epochs 3 --no-resume") and "--timesteps" not in calls[0]
    assert calls[1] == (f"python -m audiornn.AudioRNN -g --preset original -m {model} "
                        f"-a output/audiornn/generated.wav --seed 0 --method stateful "
                        f"--temperature 0.5")
    _, calls = fake_python("--stage", "0", "--stop_stage", "0", "--data_dir", "/my/wavs")
    assert calls == [f"python -m audiornn.AudioRNNData -d /my/wavs -sr 8000 "
                     f"-o {model[:-len('.keras')]}.codes.npz"]  # given data: nothing synthesised
    _, calls = fake_python("--stage=3")
    assert calls == [f"python -m audiornn.AudioRNNEval -m {model} -a output/audiornn/generated.wav "
                     f"--figures_dir figures --seed 0"]
    _, calls = fake_python("--stage", "4")
    assert calls == []


@pytest.mark.slow
def test_run_sh_end_to_end_on_tiny_settings(tmp_path):
    """All four stages for real, with tiny sizes: every stage's output appears."""
    data = write_tones(tmp_path / "wavs", n_files=2, seconds=0.5)
    model, audio, figures = tmp_path / "m" / "a.keras", tmp_path / "g.wav", tmp_path / "fig"
    r = _run(["bash", "audiornn/run.sh", "--data_dir", str(data), "--model", str(model),
              "--audio", str(audio), "--figures_dir", str(figures), "--timesteps", "16",
              "--neurons", "8", "--epochs", "1", "--steps_per_epoch", "3", "--val_windows", "32",
              "--genlength", "0.01", "--num_streams", "1"], timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    for path in (model, model.with_name("a.json"), model.with_name("a.eval.json"), audio,
                 figures / "audiornn_training.png", figures / "audiornn_generated.png"):
        assert path.exists(), path
    assert len(sf.read(audio)[0]) == 80
