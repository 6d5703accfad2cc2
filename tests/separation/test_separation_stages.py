"""Separation stages and presets: the stage scripts' options, run.sh's stage selection,
the preset files against the previous defaults, the configuration beside a checkpoint."""
import os
import platform
import shlex
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from corpus.noise import make_noises
from corpus.synth import make_corpus
from dsp.audio import InputError, load_audio
from dsp.presets import load_config, parse_args, to_jsonable
from separation import settings, train_b2, train_encoder
from separation.denoising_wavenet import B2Config
from separation.encoder import EncoderConfig
from separation.make_mixtures import build_parser as mixtures_parser
from separation.make_mixtures import make_mixtures
from separation.separate import Separator
from separation.training import metadata_path, resume_weights, standard_callbacks
from wavenet import PRESET_DIR as WAVENET_PRESETS
from wavenet import train as wavenet_train

ROOT = Path(__file__).resolve().parents[2]
SEP = ROOT / "separation"
STAGES = sorted(SEP.glob("0[1-6]_*.sh"))
JEMALLOC = Path(f"/usr/lib/{platform.machine()}-linux-gnu/libjemalloc.so.2")


def _bash(script, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
    return subprocess.run(["bash", str(script), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def _commands(stdout, what):
    return [ln for ln in stdout.splitlines() if what in ln]


# ---------------------------------------------------------------- stage scripts
def test_six_numbered_stages():
    assert [p.name[:3] for p in STAGES] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("script", STAGES + [SEP / "run.sh"], ids=lambda p: p.name)
def test_stage_script_help_and_unknown_flag(script):
    r = _bash(script, "--help")
    assert r.returncode == 0 and r.stderr == ""
    assert "--stage" in r.stdout and "--show" in r.stdout and "/usr/bin/env" not in r.stdout
    r = _bash(script, "--no_such_flag", "1")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "unknown option --no_such_flag" in r.stderr


@pytest.mark.parametrize("script", STAGES, ids=lambda p: p.name)
def test_stage_script_outside_its_range_does_nothing(script):
    n = int(script.name[:2])
    r = _bash(script, "--stage", n + 1, "--show")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    r = _bash(script, "--stage", n, "--stop_stage", n, "--show")
    assert r.returncode == 0 and "python -m" in r.stdout


def test_run_sh_defaults_select_stages_and_pass_options():
    r = _bash(SEP / "run.sh", "--show")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "preset=default" in out and "data_dir=data/separation\n" in out and "resume=true" in out
    assert [ln.split()[2] for ln in _commands(out, "=== stage")] == ["1:", "2:", "3:", "4:", "5:", "6:"]
    (mix,) = _commands(out, "separation.make_mixtures")
    assert "--preset default" in mix and "--categories all --noise_test_fraction 0.3 --test_mixes 2" in mix
    trainers = _commands(out, "separation.train_") + _commands(out, "wavenet.train")
    assert len(trainers) == 4
    assert all("--resume" in c and "--seed 0" in c and "models/separation" in c for c in trainers)
    (voc,) = _commands(out, "wavenet.train")
    assert "--preset default --epochs 40 --steps_per_epoch 10 --max_minutes 3" in voc
    v = parse_args(wavenet_train.build_parser(), WAVENET_PRESETS, shlex.split(voc)[3:])  # as wavenet.train does
    assert (v.preset, v.epochs, v.steps_per_epoch, v.max_minutes, v.resume) == ("default", 40, 10, 3, True)
    assert (v.n_layers, v.final) == (16, "models/separation/vocoder.keras")
    assert len(_commands(out, "separation.separate")) == 6
    r = _bash(SEP / "run.sh", "--stage", 5, "--stop_stage", 6, "--show", "--resume", "false")
    assert [ln.split()[2] for ln in _commands(r.stdout, "=== stage")] == ["5:", "6:"]
    assert "train" not in r.stdout.split("=== stage 5")[1]
    assert all("/test/mix" in c for c in _commands(r.stdout, "separation.separate"))
    r = _bash(SEP / "run.sh", "--stage", 5, "--stop_stage", 6, "--show", "--split", "val")  # choosing settings
    seps, (ev,) = _commands(r.stdout, "separation.separate"), _commands(r.stdout, "separation.evaluate")
    assert len(seps) == 6 and all("data/separation/val/mix" in c and "/test/" not in c for c in seps)
    assert "--reference_dir data/separation/val/clean --mixture_dir data/separation/val/mix" in ev
    r = _bash(SEP / "run.sh", "--stage", 2, "--stop_stage", 3, "--show", "--resume", "false", "--jemalloc")
    trainers = _commands(r.stdout, "separation.train_")
    assert len(trainers) == 3 and all("--no-resume" in c for c in trainers)
    assert all(c.startswith(f"LD_PRELOAD={JEMALLOC} ") == JEMALLOC.is_file() for c in trainers)


def test_run_sh_realdata_and_overrides(tmp_path):
    rd = tmp_path / "realdata"
    (rd / "ljspeech_sample").mkdir(parents=True)
    (rd / "ljspeech_sample" / "metadata.csv").write_text("")
    r = _bash(SEP / "run.sh", "--realdata", rd, "--show", "--epochs", 7, "--b1_epochs", 9, "--stop_stage", 4)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "preset=realdata" in out and "data_dir=data/separation_real\n" in out
    assert f"speech_dir={rd}/ljspeech_sample\n" in out and "fig_dir=figures/separation_real" in out
    (mix,) = _commands(out, "separation.make_mixtures")
    assert "--preset realdata" in mix and mix.count("--noise_dir") == 3 and "--categories" not in mix
    proposed, b1 = _commands(out, "separation.train_encoder")
    (b2,) = _commands(out, "separation.train_b2")
    (voc,) = _commands(out, "wavenet.train")
    assert "--kind proposed" in proposed and "--epochs 7" in proposed and "--preset realdata" in proposed
    assert "--kind b1" in b1 and "--epochs 9" in b1 and "--epochs 7" not in b1
    assert "--epochs 7" in b2 and voc.rstrip().split("--epochs")[-1].split()[0] == "7"
    r = _bash(SEP / "run.sh", "--realdata", rd, "--show", "--b2_epochs", 3, "--preset", "paper",
              "--stage", 3, "--stop_stage", 3, "--", "--batch_size", 2)
    (b2,) = _commands(r.stdout, "separation.train_b2")
    assert "--preset paper" in b2 and "--epochs 3" in b2 and b2.rstrip().endswith("--batch_size 2")
    r = _bash(SEP / "run.sh", "--realdata", tmp_path / "missing", "--show")
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error")]
    assert r.returncode != 0 and len(errors) == 1 and "missing" in errors[0] and r.stdout == ""


def test_vocoder_stage_refuses_an_unknown_preset():
    r = _bash(SEP / "04_train_vocoder.sh", "--preset", "nope", "--show", "--speech_dir", ".")
    assert r.returncode == 1 and r.stderr.strip().startswith("error:") and "nope" in r.stderr
    assert "wavenet.train" not in r.stdout


# ---------------------------------------------------------------- presets
OLD_DEFAULT_ENCODER = EncoderConfig(lstm_linear=64, lstm_mel=32, res_mid=16, res_out=32, bn_momentum=0.9)
OLD_DEFAULT_B2 = B2Config(stacks=2, max_dilation_exp=6, residual_channels=32, gate_channels=64,
                          skip_channels=32, head_channels=(512, 128), target_field=1601)


def _run_settings(a):
    return a.epochs, a.steps_per_epoch, a.max_minutes, a.batch_size


def test_presets_resolve_to_the_previous_defaults():
    """default: 40 epochs x 10 steps, 3 min per model (B1 batch 4); realdata: 20 x 25 for the
    proposed encoder and the vocoder, 40 x 25 for B1 and B2, 60-min cap; paper: published sizes."""
    for name in ("default", "realdata"):
        assert EncoderConfig.from_preset(name) == EncoderConfig.from_preset(name, "b1") == OLD_DEFAULT_ENCODER
        assert B2Config.from_preset(name) == OLD_DEFAULT_B2
    assert EncoderConfig.from_preset("paper") == EncoderConfig.from_preset("paper", "b1") == EncoderConfig()
    assert B2Config.from_preset("paper") == B2Config()
    assert _run_settings(train_encoder.parse([])) == (40, 10, 3, 16)
    assert _run_settings(train_encoder.parse(["--kind", "b1"])) == (40, 10, 3, 4)
    assert _run_settings(train_encoder.parse(["--preset", "realdata"])) == (20, 25, 60, 16)
    assert _run_settings(train_encoder.parse(["--kind", "b1", "--preset", "realdata"])) == (40, 25, 60, 4)
    assert _run_settings(train_b2.parse([])) == (40, 10, 3, 16) and train_b2.parse([]).ema == 0.99
    assert _run_settings(train_b2.parse(["--preset", "realdata"])) == (40, 25, 60, 16)
    assert settings.as_flags(settings.load("vocoder", "default")) == [
        "--preset", "default", "--epochs", "40", "--steps_per_epoch", "10", "--max_minutes", "3"]
    assert settings.as_flags(settings.load("vocoder", "realdata")) == [
        "--preset", "default", "--epochs", "20", "--steps_per_epoch", "25", "--max_minutes", "60"]
    assert settings.load("vocoder", "paper")["preset"] == "paper"
    need = ["--speech_dir", "s", "--noise_dir", "n", "--out_dir", "o"]
    mix = parse_args(mixtures_parser(), settings.preset_dir("mixtures"), need + ["--preset", "realdata"])
    assert (mix.min_noise_seconds, mix.max_seconds, mix.test_mixes, mix.train_mixes) == (3.0, 4.0, 2, 4)
    mix = parse_args(mixtures_parser(), settings.preset_dir("mixtures"), need)
    assert (mix.categories, mix.min_noise_seconds, mix.max_seconds, mix.train_mixes) == ("env", 4.5, None, 3)


def test_flags_override_presets_and_every_preset_folder_has_the_same_names(tmp_path):
    a = train_encoder.parse(["--kind", "b1", "--preset", "paper", "--epochs", "3", "--lstm_mel", "8"])
    assert (a.epochs, a.lstm_mel, a.lstm_linear, a.preset) == (3, 8, 400, "paper")
    b = train_b2.parse(["--head_channels", "16", "8", "--no-resume"])
    assert B2Config.from_dict(vars(b)).head_channels == (16, 8) and b.resume is False
    assert train_b2.parse([]).resume is True
    for model in settings.MODELS:
        assert sorted(p.stem for p in settings.preset_dir(model).glob("*.json")) == ["default", "paper", "realdata"]
    custom = tmp_path / "tiny.json"
    custom.write_text('{"lstm_linear": 4, "epochs": 1}')
    a = train_encoder.parse(["--preset", str(custom)])
    assert (a.lstm_linear, a.epochs, a.lstm_mel) == (4, 1, 200)  # the rest: the paper's sizes
    custom.write_text('{"no_such_flag": 1}')
    with pytest.raises(InputError, match="no_such_flag"):
        train_b2.parse(["--preset", str(custom)])
    with pytest.raises(ValueError, match="unknown model"):
        settings.preset_dir("b3")


# ---------------------------------------------------------------- configuration beside a checkpoint
def _tiny_fit(tmp_path, extra, resume=True, epochs=1):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((16, 3), np.float32)
    cbs = standard_callbacks(tmp_path / "m.keras", tmp_path / "logs", 1e-3, extra=extra, resume=resume)
    model.fit(x, x[:, :1], batch_size=8, epochs=epochs, validation_data=(x, x[:, :1]), callbacks=cbs,
              verbose=0)
    return model


def test_resolved_configuration_is_saved_beside_the_checkpoint(tmp_path):
    args = train_b2.parse(["--preset", "realdata", "--model_dir", str(tmp_path), "--epochs", "2"])
    cfg = B2Config.from_dict(vars(args))
    model = _tiny_fit(tmp_path, {**to_jsonable(args), "config": cfg.to_dict()})
    meta = load_config(metadata_path(tmp_path / "m.keras"))
    assert (tmp_path / "m.keras").is_file() and meta["epoch"] == 1 and meta["monitor"] == "val_loss"
    assert meta["preset"] == "realdata" and meta["epochs"] == 2 and meta["steps_per_epoch"] == 25
    assert meta["model_dir"] == str(tmp_path) and meta["resume"] is True
    assert B2Config.from_dict(meta["config"]) == OLD_DEFAULT_B2
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes left no temporary file
    # resuming with other network sizes is refused with a clear message; the same sizes load
    other = dict(meta["config"], stacks=3)
    with pytest.raises(InputError, match="--no-resume"):
        resume_weights(model, tmp_path / "m.keras", tmp_path / "logs", other, resume=True)
    resume_weights(model, tmp_path / "m.keras", tmp_path / "logs", meta["config"], resume=True)
    resume_weights(model, tmp_path / "m.keras", tmp_path / "logs", other, resume=False)


def test_a_checkpoint_older_than_a_config_field_resumes_with_its_default(tmp_path):
    """Encoder checkpoints written before `output` existed were trained with the paper's mapping:
    they continue with it, and are refused with the mask output."""
    old = {k: v for k, v in OLD_DEFAULT_ENCODER.to_dict().items() if k != "output"}
    model = _tiny_fit(tmp_path, {"config": old})
    defaults = EncoderConfig().to_dict()
    resume_weights(model, tmp_path / "m.keras", tmp_path / "logs", OLD_DEFAULT_ENCODER.to_dict(), True, defaults)
    masked = dict(OLD_DEFAULT_ENCODER.to_dict(), output="mask")
    with pytest.raises(InputError, match="--no-resume"):
        resume_weights(model, tmp_path / "m.keras", tmp_path / "logs", masked, True, defaults)
    with pytest.raises(InputError, match="--no-resume"):   # without the defaults: a missing field differs
        resume_weights(model, tmp_path / "m.keras", tmp_path / "logs", OLD_DEFAULT_ENCODER.to_dict(), True)


def test_no_resume_starts_over(tmp_path):
    _tiny_fit(tmp_path, {"config": {"a": 1}}, epochs=2)
    assert load_config(tmp_path / "m.json")["epoch"] >= 1
    (tmp_path / "logs" / "backup").mkdir(parents=True, exist_ok=True)
    standard_callbacks(tmp_path / "m.keras", tmp_path / "logs", 1e-3, resume=False)
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "logs" / "backup").exists()


def test_settings_cli_prints_flags():
    r = subprocess.run(["python", "-m", "separation.settings", "b2", "default"], cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--head_channels\n512\n128\n" in r.stdout
    assert train_b2.parse(r.stdout.split()) == train_b2.parse([])


# ---------------------------------------------------------------- trainers end to end (tiny)
def _eager(compile_fn):
    """A compile function whose model runs eagerly: one step of a tiny model, without the
    graph tracing that takes ~1 min for the encoder on a loaded 2-core machine."""
    def compile_eagerly(model, *args, **kwargs):
        model = compile_fn(model, *args, **kwargs)
        model.run_eagerly = True
        return model
    return compile_eagerly


@pytest.mark.slow
def test_trainers_write_checkpoints_that_separate_loads(tmp_path, monkeypatch):
    """train_encoder / train_b2 CLIs with tiny preset files: checkpoint + resolved
    configuration, then `Separator` loads them by name and separates a test mixture."""
    monkeypatch.setattr(train_encoder, "compile_encoder", _eager(train_encoder.compile_encoder))
    monkeypatch.setattr(train_b2, "compile_b2", _eager(train_b2.compile_b2))
    make_corpus(tmp_path / "speech", n_utterances=5, seconds_per_utt=(0.6, 0.9), sr=22050, seed=0)
    make_noises(tmp_path / "noise", sr=22050, seconds=0.7, seed=0, n_per_kind=1,
                categories=("pink_noise", "babble", "mains_hum"))
    make_mixtures(tmp_path / "speech", [tmp_path / "noise"], tmp_path / "mix", categories="all",
                  min_noise_seconds=0.5, noise_test_fraction=0.34, seed=0, progress=False)
    run = ["--data_dir", str(tmp_path / "mix"), "--model_dir", str(tmp_path / "models"), "--epochs", "1",
           "--steps_per_epoch", "1", "--batch_size", "2"]
    enc = tmp_path / "tiny_encoder.json"
    enc.write_text('{"frames": 16, "lstm_linear": 4, "lstm_mel": 4, "res_mid": 4, "res_out": 8, '
                   '"depth": 2, "dropout": 0.0, "l2": 0.0}')
    train_encoder.main(["--kind", "b1", "--preset", str(enc), "--mixing", "dynamic", *run])
    b2 = tmp_path / "tiny_b2.json"
    b2.write_text('{"stacks": 1, "max_dilation_exp": 3, "residual_channels": 4, "gate_channels": 8, '
                  '"skip_channels": 4, "head_channels": [8, 4], "target_field": 50, "ema": 0}')
    train_b2.main(["--preset", str(b2), *run])
    models = tmp_path / "models"
    meta = load_config(models / "encoder_b1.json")
    assert (meta["kind"], meta["preset"], meta["lstm_linear"], meta["config"]["frames"]) == ("b1", str(enc), 4, 16)
    assert meta["mixing"] == "dynamic"
    assert load_config(models / "b2.json")["config"]["head_channels"] == [8, 4]
    mix, _ = load_audio(next((tmp_path / "mix" / "test" / "mix").glob("*.wav")))
    for method in ("b1", "b2"):
        y = Separator(method, model_dir=models, gl_iters=2).separate(mix)
        assert y.shape == mix.shape and np.all(np.isfinite(y))
    with pytest.raises(SystemExit):  # other sizes on top of that checkpoint: one clear error
        train_encoder.main(["--kind", "b1", "--preset", str(enc), "--lstm_mel", "6", *run])
