"""CNN vocoder stage scripts (options, --help, stage selection), presets and saved configs."""
import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from bench import bench_inversion
from cnnvocoder import gen_spec, preprocess, synthesis, train
from cnnvocoder.config import (DEFAULT_CONFIG, PRESET_DIR, TRAINING_DEFAULTS, load_config,
                               make_config, preset_config)
from cnnvocoder.inversion import load_vocoder
from cnnvocoder.model import build_model
from dsp.audio import InputError
from dsp.presets import preset_names

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["run.sh", "01_preprocess.sh", "02_train.sh", "03_synthesize.sh", "04_compare.sh"]
TINY = dict(prenet_channels=[2, 2], upsample_channels=[4, 4], postnet_blocks=1,
            postnet_channels=4)


def bash(script, *args, timeout=60):
    return subprocess.run(["bash", str(ROOT / "cnnvocoder" / script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("script", STAGES)
def test_stage_script_help(script):
    r = bash(script, "--help")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith(("Stage", "The whole")) and "Usage: bash cnnvocoder/" in r.stdout
    assert "--stage" in r.stdout and "--help" in r.stdout


@pytest.mark.parametrize("script", STAGES)
def test_stage_script_refuses_unknown_flag(script, tmp_path):
    r = bash(script, "--data_dir", tmp_path / "d", "--bogus", "1")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--bogus" in lines[0]
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("script", STAGES)
def test_stage_selection_skips(script, tmp_path):
    """Stages outside --stage..--stop_stage do nothing (and need nothing)."""
    r = bash(script, "--stage", 5, "--data_dir", tmp_path / "d")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "d").exists()
    r = bash(script, "--stop_stage", 0, "--data_dir", tmp_path / "d")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "d").exists()


def test_run_passes_options_to_the_selected_stage(tmp_path):
    """run.sh --stage 3 --stop_stage 3 runs only stage 3, with run.sh's options."""
    missing = tmp_path / "missing.wav"
    r = bash("run.sh", "--stage", 3, "--stop_stage", 3, "--data_dir", tmp_path / "d",
             "--out_dir", tmp_path / "o", "--test_wavs", missing, timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[-1]
    assert (tmp_path / "o").is_dir() and not (tmp_path / "d").exists()


def test_synthesize_without_heldout_says_what_to_do(tmp_path):
    r = bash("03_synthesize.sh", "--data_dir", tmp_path / "d", "--out_dir", tmp_path / "o")
    assert r.returncode == 1
    assert "run stage 1 or give --test_wavs" in r.stderr and len(r.stderr.splitlines()) == 1


def test_run_sh_passes_valid_flags_to_every_command(tmp_path, recording_python):
    """With a stand-in `python` on PATH that records its arguments, run.sh's options
    reach every command of every stage, and each command's parser accepts them."""
    env = recording_python.env
    env.pop("AUDIOSYNTH_REALDATA", None)  # else stage 4 adds a real-data comparison
    wavs = f"{tmp_path}/a.wav {tmp_path}/b.wav"
    r = subprocess.run(["bash", str(ROOT / "cnnvocoder" / "run.sh"), "--data_dir",
                        str(tmp_path / "d"), "--model_dir", str(tmp_path / "m"), "--out_dir",
                        str(tmp_path / "o"), "--test_wavs", wavs, "--epochs", "2", "--steps",
                        "3", "--resume", "false", "--seed", "5", "--", "--n_heads", "2"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    calls = [line.split() for line in recording_python.calls()]
    modules = [c[1] for c in calls]
    per_wav = ["cnnvocoder.gen_spec"] + ["cnnvocoder.synthesis"] * 3
    assert modules == ["corpus.make_synthetic"] * 2 + ["cnnvocoder.preprocess",
                                                       "cnnvocoder.train"] \
        + per_wav * 2 + ["bench.bench_inversion"]
    parsers = {"cnnvocoder.preprocess": preprocess.parse_args, "cnnvocoder.train": train.parse_args,
               "cnnvocoder.gen_spec": gen_spec.parse_args,
               "cnnvocoder.synthesis": synthesis.parse_args,
               "bench.bench_inversion": bench_inversion.parse_args}
    parsed = {c[1]: parsers[c[1]](c[2:]) for c in calls if c[1] in parsers}
    t = parsed["cnnvocoder.train"]
    assert (t.epochs, t.steps_per_epoch, t.resume, t.seed, t.n_heads, t.preset) == \
        (2, 3, False, 5, 2, "repo")
    assert t.data_dir == f"{tmp_path}/d/segments" and t.model_dir == f"{tmp_path}/m"
    assert parsed["cnnvocoder.preprocess"].out_dir == f"{tmp_path}/d/segments"
    assert parsed["bench.bench_inversion"].model == f"{tmp_path}/m/model.keras"
    assert calls[0][calls[0].index("--seed") + 1] == "5" and calls[1][-1] == "6"  # held out


def test_run_sh_pretrained_skips_training_and_scores_the_test_clips(tmp_path, recording_python):
    """run.sh --pretrained: no training; synthesis and both comparisons use the shipped
    model, and the real-speech comparison runs on the LJSpeech split's test clips."""
    env = {**recording_python.env, "AUDIOSYNTH_REALDATA": str(tmp_path / "real")}
    r = subprocess.run(["bash", str(ROOT / "cnnvocoder" / "run.sh"), "--pretrained",
                        "--data_dir", str(tmp_path / "d"), "--out_dir", str(tmp_path / "o"),
                        "--test_wavs", f"{tmp_path}/a.wav {tmp_path}/b.wav"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    calls = [line.split() for line in recording_python.calls()]
    modules = [c[1] for c in calls]
    assert modules == ["cnnvocoder.gen_spec"] + ["cnnvocoder.synthesis"] * 3 \
        + ["cnnvocoder.gen_spec"] + ["cnnvocoder.synthesis"] * 3 + ["bench.bench_inversion"] * 2
    shipped = "pretrained/cnnvocoder/model.keras"
    cnn = [synthesis.parse_args(c[2:]) for c in calls if c[1] == "cnnvocoder.synthesis"
           and c[c.index("--method") + 1] == "cnn"]
    assert len(cnn) == 2 and all(a.model == shipped for a in cnn)
    benches = [bench_inversion.parse_args(c[2:]) for c in calls if c[1] == "bench.bench_inversion"]
    assert all(b.model == shipped for b in benches)
    assert benches[1].part == "test" and benches[1].realdata == f"{tmp_path}/real/ljspeech_sample"


def test_presets_resolve():
    names = preset_names(PRESET_DIR)
    assert "repo" in names
    for name in names:
        args = train.parse_args(["--data_dir", "d", "--preset", name])
        make_config(**{k: getattr(args, k) for k in DEFAULT_CONFIG})
        assert preset_config(name) == load_config(PRESET_DIR / f"{name}.json")
    # repo: the repository configuration and the stage defaults (6 epochs x 20 steps of 4)
    args = train.parse_args(["--data_dir", "d"])
    assert args.preset == "repo" and {k: getattr(args, k) for k in DEFAULT_CONFIG} == DEFAULT_CONFIG
    assert (args.epochs, args.steps_per_epoch, args.batch_size, args.sample_every) == (6, 20, 4, 3)
    assert TRAINING_DEFAULTS == {"epochs": 6, "steps_per_epoch": 20, "sample_every": 3}
    assert DEFAULT_CONFIG["upsample_channels"] == [1024, 512, 256, 128, 64, 32, 16, 8]
    # command-line flags win over the preset
    args = train.parse_args(["--data_dir", "d", "--epochs", "2", "--n_heads", "3",
                             "--upsample_channels", "8", "4", "--scaled_softsign"])
    assert (args.epochs, args.n_heads, args.upsample_channels, args.scaled_softsign) == \
        (2, 3, [8, 4], True)


def test_preset_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"n_head": 2}))
    with pytest.raises(InputError, match="n_head"):
        train.parse_args(["--data_dir", "d", "--preset", str(bad)])
    with pytest.raises(InputError, match="no preset named 'nope'"):
        preset_config("nope")


def test_config_saved_beside_checkpoints(tmp_path):
    config = make_config(**TINY)
    keras.utils.set_random_seed(0)
    model = build_model(config)
    resolved = {**config, "preset": "tiny", "epochs": 3, "seed": 7}
    cb = train.Checkpoints(tmp_path, resolved, best=np.inf)
    cb.set_model(model)
    cb.on_epoch_end(0, {"val_loss": 1.0})
    for name in ("last", "model"):
        assert json.loads((tmp_path / f"{name}.json").read_text())["seed"] == 7
        assert load_config(tmp_path / f"{name}.json") == config
    assert json.loads((tmp_path / "state.json").read_text()) == {"epoch": 1, "best_val_loss": 1.0}
    loaded, loaded_config = load_vocoder(tmp_path / "model.keras")
    assert loaded_config == config
    x = np.random.default_rng(0).random((1, 3, 1025)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)),
                               np.asarray(model(x, training=False)), atol=1e-6)
    assert not [p.name for p in tmp_path.iterdir() if "tmp" in p.name]


@pytest.mark.parametrize("every, written", [(0, []), (2, ["epoch0002_0.wav"])])
def test_sample_wavs_every_n_epochs_and_none_for_zero(tmp_path, every, written):
    model = build_model(make_config(**TINY))
    samples = train.Samples(tmp_path, np.zeros((1, 9, 1025), "float32"), every, 22050)
    samples.set_model(model)
    for epoch in range(3):  # epochs 1..3
        samples.on_epoch_end(epoch)
    assert sorted(p.name for p in tmp_path.iterdir()) == written
