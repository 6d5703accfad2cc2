"""WaveNet vocoder: receptive field, causality, save/load, fast vs full equivalence, vocode CLI."""
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from dsp.audio import write_wav
from dsp.mulaw import mu_law_decode, mu_law_encode
from wavenet import vocode as vocode_cli
from wavenet.generation import FastWaveNetGenerator, naive_generate, vocode
from wavenet.model import (WaveNetConfig, build_wavenet, dilations, grow_frame_net, load_vocoder,
                           make_training_pair, receptive_field, save_vocoder)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


def tiny_cfg(**kw):
    base = dict(n_layers=6, n_stacks=2, kernel_size=2, residual_channels=8, gate_channels=16, skip_channels=8,
                hop=16, upsample_scales=[4, 4])
    base.update(kw)
    return WaveNetConfig(**base)


def _inputs(cfg, batch=2, frames=4, seed=0):
    rng = np.random.default_rng(seed)
    inputs = {"audio": rng.uniform(-0.8, 0.8, (batch, frames * cfg.hop, 1)).astype("float32"),
              "mel": rng.uniform(0, 1, (batch, frames, cfg.n_mels)).astype("float32")}
    if cfg.n_speakers:
        inputs["speaker"] = (np.arange(batch) % cfg.n_speakers)[:, None].astype("int32")
    return inputs


def _randomise(model, seed=0, scale=0.3):
    """Random (non-default) weights so that every path of the network matters."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.normal(0, scale, w.shape).astype("float32"))


def test_receptive_field_arithmetic():
    assert receptive_field(WaveNetConfig.default()) == 2 * 2 * 255 + 1 == 1021
    assert dilations(WaveNetConfig.paper()) == [1, 2, 4, 8, 16, 32] * 4
    assert receptive_field(WaveNetConfig.paper()) == 2 * 4 * 63 + 1 == 505
    assert receptive_field(tiny_cfg()) == 1 + 1 + 2 + 4 + 1 + 2 + 4 == 15
    with pytest.raises(ValueError, match="multiple"):
        WaveNetConfig(n_layers=7, n_stacks=2)
    with pytest.raises(ValueError, match="hop"):
        WaveNetConfig(upsample_scales=[4, 4])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the gradient probe uses tf.GradientTape")
@pytest.mark.parametrize("kernel_size", [2, 3])
def test_receptive_field_and_causality_empirical(kernel_size):
    cfg = tiny_cfg(kernel_size=kernel_size)
    rf = receptive_field(cfg)
    model = build_wavenet(cfg)
    _randomise(model)
    inputs = _inputs(cfg, batch=1, frames=6)
    base = np.asarray(model(inputs))
    t = 70
    # a change after t leaves outputs <= t untouched (causality)
    late = {**inputs, "audio": inputs["audio"].copy()}
    late["audio"][:, t + 1:] += 0.5
    out = np.asarray(model(late))
    np.testing.assert_array_equal(out[:, :t + 1], base[:, :t + 1])
    assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 1e-4
    # output t sees input t - rf + 1 but not input t - rf. Measured by the gradient: the
    # edge path (every layer's farthest tap) is so weak that a perturbation of the input
    # can vanish in float32 rounding of the output, but its gradient cannot.
    audio = tf.convert_to_tensor(inputs["audio"])
    others = {k: tf.convert_to_tensor(v) for k, v in inputs.items() if k != "audio"}
    probe = np.random.default_rng(1).normal(size=base.shape[-1]).astype("float32")
    with tf.GradientTape() as tape:
        tape.watch(audio)
        target = tf.reduce_sum(model({**others, "audio": audio})[:, t] * probe)
    grad = tape.gradient(target, audio).numpy()[0, :, 0]
    assert grad[t - rf + 1] != 0
    assert np.all(grad[:t - rf + 1] == 0) and np.all(grad[t + 1:] == 0)


@pytest.mark.parametrize("upsample", ["transposed", "repeat"])
def test_conditioning_has_no_lookahead(upsample):
    cfg = tiny_cfg(upsample=upsample)
    model = build_wavenet(cfg)
    _randomise(model)
    inputs = _inputs(cfg, batch=1, frames=5)
    base = np.asarray(model(inputs))
    moved = {**inputs, "mel": inputs["mel"].copy()}
    moved["mel"][:, 3] += 1.0
    out = np.asarray(model(moved))
    np.testing.assert_array_equal(out[:, :3 * cfg.hop], base[:, :3 * cfg.hop])
    assert np.abs(out[:, 3 * cfg.hop:4 * cfg.hop] - base[:, 3 * cfg.hop:4 * cfg.hop]).max() > 1e-4


def test_output_shapes_and_global_conditioning():
    cfg = tiny_cfg(output="mol", n_mixtures=4, n_speakers=3)
    model = build_wavenet(cfg)
    _randomise(model)
    inputs = _inputs(cfg, batch=2, frames=3)
    out = np.asarray(model(inputs))
    assert out.shape == (2, 3 * cfg.hop, 12)
    np.testing.assert_array_equal(inputs["speaker"][:, 0], [0, 1])
    other = {**inputs, "speaker": np.array([[2], [1]], "int32")}
    # the speaker id changes the first utterance's output (id 0 -> 2), not the second's (1 -> 1)
    out2 = np.asarray(model(other))
    assert np.abs(out2[0] - out[0]).max() > 1e-4
    np.testing.assert_allclose(out2[1], out[1], atol=1e-6)


CONFIGS = [
    dict(),
    dict(kernel_size=3, output="mol", n_mixtures=3),
    dict(upsample="repeat", n_speakers=2),
    dict(kernel_size=3, n_layers=4, n_stacks=1, output="mol", n_mixtures=2, n_speakers=3, upsample="repeat"),
    dict(kernel_size=3, n_layers=24, n_stacks=4, output="mol", n_mixtures=10),   # the paper's structure, narrow
]


@pytest.mark.parametrize("overrides", CONFIGS)
def test_fast_equals_full_model_teacher_forced(overrides):
    cfg = tiny_cfg(**overrides)
    model = build_wavenet(cfg)
    _randomise(model, scale=0.4)
    inputs = _inputs(cfg, batch=2, frames=5)
    ref = np.asarray(model(inputs))
    gen = FastWaveNetGenerator(model, cfg)
    speaker = inputs["speaker"][:, 0] if cfg.n_speakers else None
    fast = gen.teacher_forced(inputs["audio"], inputs["mel"], speaker=speaker)
    assert fast.shape == ref.shape
    assert np.abs(ref).max() > 0.1
    np.testing.assert_allclose(fast, ref, atol=1e-4, rtol=0)


def test_fast_equals_full_default_config_with_real_receptive_field():
    cfg = WaveNetConfig.default()
    model = build_wavenet(cfg)
    _randomise(model, scale=0.1)
    inputs = _inputs(cfg, batch=1, frames=5)           # 1280 samples > receptive field 1021
    ref = np.asarray(model(inputs))
    fast = FastWaveNetGenerator(model, cfg).teacher_forced(inputs["audio"], inputs["mel"])
    np.testing.assert_allclose(fast, ref, atol=1e-4, rtol=0)


def _random_generation_setup(output, batch):
    """``(cfg, model, mel)``: a tiny vocoder with random weights and ``batch`` mels of 3 frames."""
    cfg = tiny_cfg(output=output, n_mixtures=3)
    model = build_wavenet(cfg)
    _randomise(model, scale=0.3)
    return cfg, model, _inputs(cfg, batch=batch, frames=3)["mel"]


@pytest.mark.parametrize("output", ["mulaw256", "mol"])
def test_generation_length_batching_and_naive_agreement(output):
    cfg, model, mel = _random_generation_setup(output, batch=2)
    gen = FastWaveNetGenerator(model, cfg)
    wav = gen.generate(mel, temperature=1.0, seed=3, progress=False)
    assert wav.shape == (2, 3 * cfg.hop) and wav.dtype == np.float32
    assert np.all(np.isfinite(wav)) and np.abs(wav).max() <= 1.0
    np.testing.assert_array_equal(wav, gen.generate(mel, temperature=1.0, seed=3, progress=False))
    single = vocode(model, cfg, mel[0], temperature=0.0, progress=False)
    assert single.shape == (3 * cfg.hop,)
    # greedy decoding is deterministic: the fast path and the naive full-model path agree
    greedy = gen.generate(mel[:1], temperature=0.0, progress=False)[0]
    np.testing.assert_allclose(single, greedy, atol=0)
    naive = naive_generate(model, cfg, mel[:1], n_samples=40, temperature=0.0, progress=False)[0]
    np.testing.assert_allclose(naive, greedy[:40], atol=1e-4)


@pytest.mark.parametrize("output", ["mulaw256", "mol"])
def test_parallel_groups_of_utterances_give_the_same_audio(output):
    """Utterances generated in 1, 2 or 3 threads: the same samples (noise is drawn for the batch)."""
    cfg, model, mel = _random_generation_setup(output, batch=3)
    serial = FastWaveNetGenerator(model, cfg, workers=1)
    wav = serial.generate(mel, seed=5, progress=False)
    assert np.std(wav[0] - wav[1]) > 1e-3                  # different utterances, different audio
    for workers in (2, 3):
        gen = FastWaveNetGenerator(model, cfg, workers=workers)
        np.testing.assert_array_equal(gen.generate(mel, seed=5, progress=False), wav)
        audio = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 3 * cfg.hop)).astype("float32")
        np.testing.assert_array_equal(gen.teacher_forced(audio, mel), serial.teacher_forced(audio, mel))


def test_probability_floor_thins_sampling_down_to_greedy():
    """A floor above every code's probability leaves the most likely code (greedy decoding); a small
    floor changes some samples of plain sampling with the same noise, but not all."""
    cfg, model, mel = _random_generation_setup("mulaw256", batch=2)
    gen = FastWaveNetGenerator(model, cfg)
    greedy = gen.generate(mel, temperature=0.0, progress=False)
    np.testing.assert_array_equal(gen.generate(mel, seed=1, prob_floor=0.999, progress=False), greedy)
    plain, floored = (gen.generate(mel, seed=1, prob_floor=f, progress=False) for f in (0.0, 0.002))
    assert 0 < np.mean(plain != floored) < 1
    with pytest.raises(ValueError, match="prob_floor"):
        gen.generate(mel, prob_floor=-0.1, progress=False)


def test_generation_rejects_bad_mel():
    cfg = tiny_cfg()
    gen = FastWaveNetGenerator(build_wavenet(cfg), cfg)
    with pytest.raises(ValueError, match="80"):
        gen.generate(np.zeros((1, 3, 40)), progress=False)
    with pytest.raises(ValueError, match="NaN"):
        gen.generate(np.full((1, 3, 80), np.nan), progress=False)
    with pytest.raises(ValueError, match="speaker"):
        gen.generate(np.zeros((1, 3, 80)), progress=False, speaker=1)


def test_keras_round_trip(tmp_path):
    cfg = tiny_cfg(output="mol", n_mixtures=3, n_speakers=2)
    model = build_wavenet(cfg)
    _randomise(model)
    inputs = _inputs(cfg, batch=2, frames=2)
    path = save_vocoder(model, cfg, tmp_path / "ckpt" / "vocoder.keras", extra={"epoch": 3})
    assert (tmp_path / "ckpt" / "vocoder.json").is_file()
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["vocoder.json", "vocoder.keras"]
    loaded, cfg2 = load_vocoder(path)
    assert cfg2 == cfg
    np.testing.assert_allclose(np.asarray(loaded(inputs)), np.asarray(model(inputs)), atol=1e-6)
    (tmp_path / "ckpt" / "vocoder.json").unlink()
    with pytest.raises(ValueError, match="vocoder.json"):
        load_vocoder(path)
    with pytest.raises(ValueError, match="not found"):
        load_vocoder(tmp_path / "missing.keras")


def test_training_pair_alignment():
    wav = np.sin(np.linspace(0, 20, 64)).astype("float32") * 0.7
    cfg = tiny_cfg()
    audio_in, target = make_training_pair(wav, cfg, previous=0.25)
    np.testing.assert_array_equal(target, mu_law_encode(wav))
    np.testing.assert_allclose(audio_in[1:, 0], mu_law_decode(mu_law_encode(wav[:-1])))
    assert audio_in[0, 0] == pytest.approx(mu_law_decode(mu_law_encode(0.25)), abs=1e-7)
    audio_in, target = make_training_pair(wav, tiny_cfg(output="mol"))
    np.testing.assert_array_equal(audio_in[1:, 0], wav[:-1])
    assert audio_in[0, 0] == 0 and target.dtype == np.float32


# The short training run on a tone-plus-harmonics signal conditioned on its mel is
# tests/wavenet/test_wavenet_train.py::test_training_on_tones_lowers_loss_and_resumes (through the CLI).


def test_vocode_cli_writes_frames_times_hop(tmp_path, capsys):
    cfg = tiny_cfg(hop=256, upsample_scales=[16, 16])
    model = build_wavenet(cfg)
    ckpt = save_vocoder(model, cfg, tmp_path / "voc.keras")
    np.save(tmp_path / "a.npy", np.full((3, 80), 0.5, "float32"))
    t = np.arange(1100) / 22050
    write_wav(tmp_path / "b.wav", 0.5 * np.sin(2 * np.pi * 200 * t), 22050)
    assert vocode_cli.main(["--model", str(ckpt), "--input", str(tmp_path / "a.npy"), str(tmp_path / "b.wav"),
                            "--out_dir", str(tmp_path / "out")]) == 0
    assert len(sf.read(tmp_path / "out" / "a.wav")[0]) == 3 * 256
    assert len(sf.read(tmp_path / "out" / "b.wav")[0]) == (1100 // 256) * 256
    np.save(tmp_path / "bad.npy", np.zeros((3, 40), "float32"))
    with pytest.raises(SystemExit):
        vocode_cli.main(["--model", str(ckpt), "--input", str(tmp_path / "bad.npy"), "--out_dir",
                         str(tmp_path / "out2")])
    err = capsys.readouterr().err
    assert "bad.npy" in err and "[frames, 80]" in err and not (tmp_path / "out2").exists()


def test_vocode_cli_help_as_module():
    run = subprocess.run([sys.executable, "-m", "wavenet.vocode", "--help"], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "--model" in run.stdout and "--out_dir" in run.stdout and "--vocoder" not in run.stdout


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")   # saved before any step
def test_checkpoint_of_the_previous_layout_loads():
    """fixtures/legacy_vocoder.keras was written by separation.wavenet (before the wavenet package existed).

    Its config names the classes' old modules (separation.wavenet_layers, separation.wavenet_distributions);
    they load through their unchanged registered names ("audiosynth.wavenet>..."), compiled or not.
    """
    path = FIXTURES / "legacy_vocoder.keras"
    assert "separation.wavenet_layers" in zipfile.ZipFile(path).read("config.json").decode()
    model, cfg = load_vocoder(path, compile=True)
    assert (cfg.n_layers, cfg.kernel_size, cfg.n_speakers, cfg.output) == (2, 3, 2, "mulaw256")
    assert type(model.loss).__name__ == "MuLawCrossEntropy"
    inputs = {"audio": np.linspace(-0.8, 0.8, 32, dtype="float32").reshape(1, 32, 1),
              "mel": np.linspace(0, 1, 160, dtype="float32").reshape(1, 2, 80), "speaker": np.array([[1]], "int32")}
    # the first 8 logits of the last sample, printed by the old layout when the file was written
    expected = [-0.23823, -0.1938, 0.1926, -0.00222, -0.30486, 0.04977, -0.17165, -0.354]
    np.testing.assert_allclose(np.asarray(model(inputs))[0, -1, :8], expected, atol=2e-5)
    wav = FastWaveNetGenerator(model, cfg).generate(inputs["mel"], progress=False, speaker=[1])
    assert wav.shape == (1, 32)


@pytest.mark.parametrize("upsample", ["transposed", "repeat"])
def test_frame_network_fast_equals_full_model_and_naive_generation(upsample):
    """A vocoder with a frame-rate conditioning network: teacher-forced fast parameters equal the
    Keras model's, and greedy fast generation equals the naive full-model loop, whose window must
    then reach the frame network's context on both sides (5 frames here)."""
    cfg = tiny_cfg(frame_layers=2, frame_channels=6, upsample=upsample)
    model = build_wavenet(cfg)
    _randomise(model, scale=0.3)
    inputs = _inputs(cfg, batch=2, frames=7)
    gen = FastWaveNetGenerator(model, cfg)
    full = np.asarray(model(inputs))
    np.testing.assert_allclose(gen.teacher_forced(inputs["audio"][..., 0], inputs["mel"]), full, atol=1e-4)
    greedy = gen.generate(inputs["mel"][:1], temperature=0.0, progress=False)[0]
    naive = naive_generate(model, cfg, inputs["mel"][:1], n_samples=3 * cfg.hop, temperature=0.0, progress=False)[0]
    np.testing.assert_allclose(naive, greedy[:3 * cfg.hop], atol=1e-4)


def test_growing_a_frame_network_keeps_the_function_and_round_trips(tmp_path):
    """grow_frame_net: the grown vocoder gives the old one's output exactly at first, yet its new
    conditioning rows get gradient (they are zero, the frame features are not); it saves and loads."""
    cfg = tiny_cfg()
    model = build_wavenet(cfg)
    _randomise(model, scale=0.3)
    grown, grown_cfg = grow_frame_net(model, cfg, 2, 6)
    assert grown_cfg.frame_layers == 2 and grown.get_layer("block_00").cond.kernel.shape == (cfg.n_mels + 6, 16)
    inputs = _inputs(cfg, batch=2, frames=5)
    np.testing.assert_allclose(np.asarray(grown(inputs)), np.asarray(model(inputs)), atol=1e-6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(grown(inputs)))
    kernel = grown.get_layer("block_00").cond.kernel
    grad = np.asarray(tape.gradient(loss, kernel.value if hasattr(kernel, "value") else kernel))
    assert np.abs(grad[cfg.n_mels:]).max() > 0
    save_vocoder(grown, grown_cfg, tmp_path / "grown.keras")
    again, again_cfg = load_vocoder(tmp_path / "grown.keras")
    assert again_cfg == grown_cfg
    np.testing.assert_allclose(np.asarray(again(inputs)), np.asarray(model(inputs)), atol=1e-6)
    with pytest.raises(ValueError, match="already"):
        grow_frame_net(grown, grown_cfg, 1, 4)
