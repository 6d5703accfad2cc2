"""The vocoder's training recipe (weight averaging, learning-rate staircase, optimizer swap on resume)
and the copy-synthesis evaluation command."""
import argparse
import json

import keras
import numpy as np
import pytest
import soundfile as sf

from dsp.audio import load_audio, write_wav
from dsp.mulaw import mu_law_encode
from tests.wavenet.test_wavenet_model import tiny_cfg
from tests.wavenet.test_wavenet_train import _write_tones
from wavenet import evaluate as evaluate_cli
from wavenet import export as export_cli
from wavenet import vocode as vocode_cli
from wavenet import train as train_cli
from wavenet.features import log_mel, mel_postfilter
from wavenet.model import build_wavenet, load_vocoder, make_loss, save_vocoder
from wavenet.optimizers import make_optimizer, optimizer_matches, replace_optimizer


def _marginal_entropy(folder):
    """Entropy (nats) of the µ-law codes of every wav in ``folder``: the loss of a model that ignores context."""
    codes = np.concatenate([mu_law_encode(load_audio(p)[0]) for p in sorted(folder.glob("*.wav"))])
    p = np.bincount(codes, minlength=256) / len(codes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _weights(path):
    return [np.asarray(w) for w in load_vocoder(path)[0].trainable_weights]


@pytest.mark.slow
def test_averaged_training_beats_the_marginal_code_distribution(tmp_path):
    """Tones, 2 x 40 steps with --ema 0.99 and a halving every 40 steps.

    The held-out tone's loss ends below the entropy of the codes' marginal distribution
    (what a model ignoring context and mel scores); ``ema.keras`` holds weights different
    from the raw ones and is what the final vocoder is; the learning rate was halved twice.
    """
    data, out = _write_tones(tmp_path / "tones"), tmp_path / "run"
    args = ["--data_dir", str(data), "--out_dir", str(out), "--n_layers", "6", "--n_stacks", "2",
            "--residual_channels", "16", "--steps_per_epoch", "40", "--batch_size", "4", "--window_frames", "4",
            "--lr", "1e-2", "--sample_frames", "3", "--sample_every", "0", "--epochs", "2",
            "--ema", "0.99", "--lr_halve_every", "40"]
    assert train_cli.main(args) == 0
    rows = (out / "log.csv").read_text().splitlines()[1:]
    val_loss = float(rows[-1].split(",")[-1])
    baseline = _marginal_entropy(data)
    assert val_loss < baseline - 0.5, (val_loss, baseline)
    raw, ema, final = _weights(out / "ckpt" / "latest.keras"), _weights(out / "ckpt" / "ema.keras"), \
        _weights(out / "vocoder.keras")
    assert max(np.abs(r - e).max() for r, e in zip(raw, ema)) > 1e-4      # an average, not a copy
    for e, f in zip(ema, final):
        np.testing.assert_allclose(f, e, atol=1e-6)
    model, _ = load_vocoder(out / "ckpt" / "latest.keras", compile=True)
    assert int(model.optimizer.iterations.numpy()) == 80
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-2 / 4)

    # the run packaged as a model folder: averaged weights without optimizer state, the run's record
    shipped = tmp_path / "shipped"
    assert export_cli.main(["--run_dir", str(out), "--out_dir", str(shipped)]) == 0
    assert sorted(p.name for p in shipped.iterdir()) == ["command.sh", "config.json", "learning_curve.png", "log.csv",
                                                          "split.json", "vocoder.json", "vocoder.keras"]
    for e, w in zip(ema, _weights(shipped / "vocoder.keras")):
        np.testing.assert_array_equal(w, e)
    assert (shipped / "vocoder.keras").stat().st_size < 0.6 * (out / "ckpt" / "latest.keras").stat().st_size
    command = (shipped / "command.sh").read_text()
    assert command.startswith("python -m wavenet.train ") and "--ema 0.99" in command
    assert vocode_cli.main(["--model_dir", str(shipped), "--input_dir", str(data), "--out_dir",
                            str(tmp_path / "vocoded"), "--method", "griffinlim"]) == 0


def test_swapping_the_optimizer_keeps_adam_state_and_seeds_the_average():
    """Resuming with a new schedule/averaging keeps moments and step count (a fresh Adam jolts every weight)."""
    cfg = tiny_cfg()
    model = build_wavenet(cfg)
    plain = argparse.Namespace(lr=1e-3, lr_halve_every=0, ema=0.0)
    model.compile(optimizer=make_optimizer(plain), loss=make_loss(cfg))
    rng = np.random.default_rng(0)
    x = {"audio": rng.uniform(-0.5, 0.5, (2, 4 * cfg.hop, 1)).astype("float32"),
         "mel": rng.uniform(0, 1, (2, 4, cfg.n_mels)).astype("float32")}
    y = rng.integers(0, 256, (2, 4 * cfg.hop, 1))
    model.fit(x, y, epochs=3, verbose=0)
    before = {v.path.split("/", 1)[1]: np.asarray(v) for v in model.optimizer.variables}
    assert optimizer_matches(model.optimizer, plain)
    averaged = argparse.Namespace(lr=1e-3, lr_halve_every=100, ema=0.999)
    assert not optimizer_matches(model.optimizer, averaged)
    replace_optimizer(model, cfg, averaged)
    assert optimizer_matches(model.optimizer, averaged)
    after = {v.path.split("/", 1)[1]: np.asarray(v) for v in model.optimizer.variables}
    moments = [k for k in before if k.endswith(("_momentum", "_velocity"))]
    assert moments and all(np.array_equal(before[k], after[k]) for k in moments)
    assert int(after["iteration"]) == 3
    for var, avg in zip(model.trainable_variables, model.optimizer._model_variables_moving_average):
        np.testing.assert_array_equal(np.asarray(avg), np.asarray(var))
    model.fit(x, y, epochs=1, verbose=0)       # trains on with the new optimizer
    assert int(model.optimizer.iterations.numpy()) == 4


@pytest.mark.slow
def test_evaluate_scores_griffin_lim_above_an_untrained_vocoder(realdata, tmp_path):
    """Copy synthesis of two real clips: the table, JSON and figure are written; Griffin-Lim from the
    mel is intelligible (STOI > 0.85) and far ahead of an untrained WaveNet, which makes noise; the
    post-filtered rows are the same samples pulled toward the mel (closer to it, more intelligible)."""
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("LJ001-0010", "LJ001-0019"):
        x, sr = sf.read(realdata / "ljspeech_sample" / "wavs" / f"{name}.wav", dtype="float32")
        write_wav(clips / f"{name}.wav", x[:int(1.6 * sr)], sr)
    model_dir = tmp_path / "model"
    cfg = tiny_cfg(hop=200, upsample_scales=[10, 20], sample_rate=16000)
    keras.utils.set_random_seed(0)
    save_vocoder(build_wavenet(cfg), cfg, model_dir / "vocoder.keras")
    out = tmp_path / "eval"
    assert evaluate_cli.main(["--model_dir", str(model_dir), "--input_dir", str(clips), "--out_dir", str(out),
                              "--repeats", "2"]) == 0
    for name in ("results.json", "results.md", "spectrograms.png", "wavenet/LJ001-0010.wav",
                 "wavenet_seed1/LJ001-0010.wav", "wavenet_pf_seed1/LJ001-0010.wav", "griffinlim/LJ001-0019.wav"):
        assert (out / name).is_file(), name
    y, rate = sf.read(out / "griffinlim" / "LJ001-0010.wav")
    assert rate == 16000 and len(y) % 200 == 0
    assert not np.array_equal(sf.read(out / "wavenet" / "LJ001-0010.wav")[0],
                              sf.read(out / "wavenet_seed1" / "LJ001-0010.wav")[0])   # two sampling runs
    raw = sf.read(out / "wavenet_seed1" / "LJ001-0019.wav", dtype="float32")[0]
    mel = log_mel(load_audio(clips / "LJ001-0019.wav", sr=16000)[0], cfg)
    filtered = sf.read(out / "wavenet_pf_seed1" / "LJ001-0019.wav", dtype="float32")[0]
    np.testing.assert_allclose(filtered, mel_postfilter(raw, mel, cfg), atol=1e-4)   # same samples, filtered
    assert np.mean(np.abs(log_mel(filtered, cfg) - mel)) < 0.5 * np.mean(np.abs(log_mel(raw, cfg) - mel))
    means = json.loads((out / "results.json").read_text())["means"]
    assert set(means) == {"original", "wavenet", "wavenet_pf", "noise_pf", "griffinlim"}
    assert means["noise_pf"]["runs"] == 1 and means["noise_pf"]["stoi"] > means["wavenet"]["stoi"] + 0.1
    assert means["wavenet_pf"]["runs"] == 2 and means["wavenet_pf"]["stoi"] > means["wavenet"]["stoi"] + 0.1
    assert means["wavenet"]["runs"] == 2 and means["wavenet"]["files"] == 2 and "sd_stoi" in means["wavenet"]
    assert means["griffinlim"]["runs"] == 1 and "sd_stoi" not in means["griffinlim"]
    assert means["griffinlim"]["stoi"] > 0.85 and means["griffinlim"]["stoi"] > means["wavenet"]["stoi"] + 0.3
    assert means["griffinlim"]["visqol"] > means["wavenet"]["visqol"] + 1.0
    assert 1.0 <= means["wavenet"]["p808"] < means["original"]["p808"] <= 5.0
    table = (out / "results.md").read_text()
    assert table.count("\n") == 7 and "| griffinlim | 2 |" in table and "| wavenet (2 runs) | 2 |" in table


def test_repeated_sampling_runs_are_averaged_with_their_spread():
    """Two runs over two files: the mean is over all four rows, the spread is the standard deviation
    of the two run means (0.81 and 0.91: 0.0707), a method sampled once has no spread, and a metric
    undefined for a file (None) is left out of its mean."""
    rows = [{"file": f, "method": "wavenet", "seed": s, "stoi": v + d, "p808": 3.0}
            for s, v in ((0, 0.8), (1, 0.9)) for f, d in (("a", 0.0), ("b", 0.02))]
    rows += [{"file": f, "method": "griffinlim", "stoi": 0.97, "p808": 3.5, "gpe": g}
             for f, g in (("a", 0.1), ("b", None))]
    means = evaluate_cli.summarise(rows)
    assert means["griffinlim"]["gpe"] == pytest.approx(0.1)   # undefined for file b: the mean skips it
    assert means["wavenet"]["files"] == 2 and means["wavenet"]["runs"] == 2
    assert means["wavenet"]["stoi"] == pytest.approx(0.86)
    assert means["wavenet"]["sd_stoi"] == pytest.approx(0.1 / np.sqrt(2)) and means["wavenet"]["sd_p808"] == 0
    assert "sd_stoi" not in means["griffinlim"] and means["griffinlim"]["runs"] == 1
    table = evaluate_cli.markdown_table(means, ["wavenet", "griffinlim"])
    assert "| wavenet (2 runs) | 2 | 0.860 ± 0.071 | - | 3.000 ± 0.000 | - | - |" in table
    assert "| griffinlim | 2 | 0.970 | - | 3.500 | - | - |" in table


@pytest.mark.slow
def test_a_run_started_from_exported_weights_keeps_them_and_counts_on(tmp_path, capsys):
    """``--init_from`` a shipped vocoder (no optimizer state): at learning rate 0 the weights stay exactly
    the shipped ones (so they, not a fresh initialisation, are trained), Adam's moments are estimated
    over the warm-up batches, the epoch count continues, and a second call resumes its own checkpoint;
    with ``--frame_layers`` a frame network is added to it."""
    data, first = _write_tones(tmp_path / "tones"), tmp_path / "first"
    tiny = ["--data_dir", str(data), "--n_layers", "4", "--n_stacks", "1", "--residual_channels", "8",
            "--batch_size", "2", "--window_frames", "2", "--sample_every", "0", "--sample_frames", "3"]
    assert train_cli.main(tiny + ["--out_dir", str(first), "--epochs", "1", "--steps_per_epoch", "5"]) == 0
    shipped = tmp_path / "shipped"
    assert export_cli.main(["--run_dir", str(first), "--out_dir", str(shipped), "--checkpoint", "latest"]) == 0
    capsys.readouterr()
    second = tmp_path / "second"
    cont = tiny + ["--out_dir", str(second), "--init_from", str(shipped / "vocoder.keras"), "--warm_steps", "3",
                   "--steps_per_epoch", "4", "--lr", "0", "--epochs", "2"]
    assert train_cli.main(cont) == 0
    assert "starting from the weights of" in capsys.readouterr().out
    for s, w in zip(_weights(shipped / "vocoder.keras"), _weights(second / "ckpt" / "latest.keras")):
        np.testing.assert_array_equal(w, s)
    assert json.loads((second / "ckpt" / "latest.json").read_text())["epoch"] == 2
    model, _ = load_vocoder(second / "ckpt" / "latest.keras", compile=True)
    assert int(model.optimizer.iterations.numpy()) == 3 + 4
    velocities = [np.asarray(v) for v in model.optimizer.variables if v.path.endswith("_velocity")]
    assert velocities and all(np.all(v >= 0) for v in velocities) and max(v.max() for v in velocities) > 0
    assert train_cli.main(cont[:-1] + ["3"]) == 0
    assert "resuming from" in capsys.readouterr().out
    assert json.loads((second / "ckpt" / "latest.json").read_text())["epoch"] == 3

    # with --frame_layers the shipped vocoder gains a frame network; its own weights are kept
    grown = tmp_path / "grown"
    assert train_cli.main(tiny + ["--out_dir", str(grown), "--init_from", str(shipped / "vocoder.keras"),
                                  "--frame_layers", "1", "--frame_channels", "4", "--warm_steps", "1",
                                  "--steps_per_epoch", "2", "--lr", "0", "--epochs", "2"]) == 0
    assert "added a frame network (1 x 4 channels)" in capsys.readouterr().out
    model, cfg = load_vocoder(grown / "ckpt" / "latest.keras")
    assert (cfg.frame_layers, cfg.frame_channels) == (1, 4)
    head = load_vocoder(shipped / "vocoder.keras")[0].get_layer("head_out").kernel
    np.testing.assert_array_equal(np.asarray(model.get_layer("head_out").kernel), np.asarray(head))
