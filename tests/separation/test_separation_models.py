"""Separation pipeline, Keras side: loss, hourglass, encoder, B2, separation methods, CLI."""
import dataclasses
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from dsp.audio import InputError
from dsp.metrics import si_sdr
from separation import features as F
from separation import mixing
from separation import separate as sep_mod
from separation.denoising_wavenet import B2Config, build_denoising_wavenet, denoise
from separation.encoder import EncoderConfig, build_encoder, compile_encoder
from separation.layers import Hourglass, ResidualBlock, weighted_squared_error
from separation.separate import Separator, magnitude_with_phase
from separation.training import standard_callbacks
from wavenet.model import WaveNetConfig

SR = 22050
TINY = EncoderConfig(frames=16, lstm_linear=4, lstm_mel=4, res_mid=4, res_out=8, depth=2,
                     dropout=0.0, l2=0.0)


def test_weighted_loss_matches_numpy():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(3, 8, 5)).astype(np.float32)
    Xh = rng.uniform(size=(3, 8, 5)).astype(np.float32)
    w = X ** 2 + (1 - X ** 2) * Xh ** 2
    ref = (w * (Xh - X) ** 2).sum(axis=(1, 2)) / w.sum(axis=(1, 2))
    got = keras.ops.convert_to_numpy(weighted_squared_error(X, Xh))
    np.testing.assert_allclose(got, ref, rtol=1e-5)
    assert np.allclose(keras.ops.convert_to_numpy(weighted_squared_error(X, X)), 0.0)


def test_hourglass_shapes_reach_8x10_bottleneck():
    hg = Hourglass(3, out_channels=64, mid_channels=32)
    y = hg(np.zeros((1, 64, 80, 9), np.float32))
    assert tuple(y.shape) == (1, 64, 80, 64)
    level, shapes = hg, []
    while isinstance(level, Hourglass):
        shapes.append(tuple(level.low_shape[1:]))
        level = level.low2
    assert shapes == [(32, 40, 64), (16, 20, 64), (8, 10, 64)]
    assert isinstance(level, ResidualBlock)  # deepest level: residual instead of recursion


def test_residual_block_skip_and_identity():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 6)).astype(np.float32)
    rb = ResidualBlock(6, 3, l2=0.0)
    y = rb(x, training=False)
    assert rb.skip is None and tuple(y.shape) == x.shape
    for v in rb.conv3.weights:  # zero last conv -> pure identity
        v.assign(np.zeros(v.shape, np.float32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rb(x, training=False)), x, atol=1e-6)
    rb2 = ResidualBlock(10, 3)
    assert tuple(rb2(x).shape) == (2, 8, 8, 10) and rb2.skip is not None


@pytest.mark.parametrize("kind,bins", [("proposed", 80), ("b1", 512)])
def test_encoder_shapes_and_keras_round_trip(kind, bins, tmp_path):
    model = build_encoder(kind, TINY)
    x = {"linear": np.random.rand(2, 16, 512).astype(np.float32),
         "mel": np.random.rand(2, 16, 80).astype(np.float32)}
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (2, 16, bins) and y.min() >= 0 and y.max() <= 1
    path = tmp_path / f"encoder_{kind}.keras"
    model.save(path)
    back = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(back(x, training=False)), y, atol=1e-6)


@pytest.mark.parametrize("kind,mixture", [("proposed", "mel"), ("b1", "linear")])
def test_mask_output_is_a_gain_on_the_mixture_feature(kind, mixture):
    """output="mask": the estimate never exceeds the mixture's own feature, and with the last
    conv's sigmoid saturated open it is that feature exactly (speech-dominated bins pass)."""
    model = build_encoder(kind, dataclasses.replace(TINY, output="mask"))
    rng = np.random.default_rng(0)
    x = {"linear": rng.uniform(size=(2, 16, 512)).astype(np.float32),
         "mel": rng.uniform(size=(2, 16, 80)).astype(np.float32)}
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.all(y <= x[mixture] + 1e-6) and np.all(y >= 0) and np.mean(y < 0.99 * x[mixture]) > 0.5
    kernel, bias = model.get_layer("out_conv").weights
    kernel.assign(np.zeros(kernel.shape, np.float32))
    bias.assign(np.full(bias.shape, 30.0, np.float32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=False)), x[mixture], atol=1e-6)
    with pytest.raises(ValueError, match="output"):
        build_encoder(kind, dataclasses.replace(TINY, output="residual"))


@pytest.mark.slow
def test_encoder_training_lowers_loss():
    keras.utils.set_random_seed(0)
    cfg = EncoderConfig(frames=8, lstm_linear=4, lstm_mel=4, res_mid=4, res_out=8, depth=1,
                        dropout=0.0, l2=0.0)  # smallest graph: tracing dominates on CPU
    model = compile_encoder(build_encoder("proposed", cfg), 1e-2)
    rng = np.random.default_rng(0)
    x = {"linear": rng.uniform(size=(8, 8, 512)).astype(np.float32),
         "mel": rng.uniform(size=(8, 8, 80)).astype(np.float32)}
    y = (0.8 * x["mel"] ** 2).astype(np.float32)  # a learnable function of the mixture mel
    hist = model.fit(x, y, epochs=12, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < 0.7 * hist.history["loss"][0]


def test_b2_receptive_field_paper_preset():
    cfg = B2Config.from_preset("paper")
    assert cfg.dilations[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] and len(cfg.dilations) == 30
    assert cfg.receptive_field == 6139
    assert cfg.target_field == 1601 and cfg.input_length == 1601 + 6138 + 4  # + two 3-tap head convs
    assert (cfg.residual_channels, cfg.gate_channels, cfg.head_channels) == (128, 256, (2048, 256))


def test_b2_energy_conserving_output_and_sliding_inference():
    keras.utils.set_random_seed(0)
    cfg = B2Config(stacks=1, max_dilation_exp=3, residual_channels=4, gate_channels=8,
                   skip_channels=4, head_channels=(8, 4), target_field=50)
    assert cfg.receptive_field == 31 and cfg.model_field == 35
    model = build_denoising_wavenet(cfg)
    x = np.random.default_rng(0).normal(size=(2, cfg.input_length)).astype(np.float32)
    out = {k: keras.ops.convert_to_numpy(v) for k, v in model(x).items()}
    assert out["speech"].shape == out["noise"].shape == (2, cfg.target_field)
    half = (cfg.model_field - 1) // 2
    np.testing.assert_allclose(out["speech"] + out["noise"], x[:, half:half + cfg.target_field], atol=1e-5)
    # non-causal and local: output j sees inputs j .. j + model_field - 1 (centred on j + half)
    x2 = x.copy()
    x2[:, half + 20] += 10.0
    y2 = keras.ops.convert_to_numpy(model(x2)["speech"])
    changed = np.abs(y2 - out["speech"]).max(axis=0) > 1e-6
    assert changed[20 - half] and changed[20 + half]  # outputs before and after the change
    assert not changed[:20 - half].any() and not changed[20 + half + 1:].any()
    # sliding inference covers the utterance exactly: equals a single full-length pass
    sig = np.random.default_rng(1).normal(size=173).astype(np.float32)
    y = denoise(model, cfg, sig)
    full = keras.ops.convert_to_numpy(model(np.pad(sig, (half, half))[None])["speech"])[0]
    assert y.shape == sig.shape
    np.testing.assert_allclose(y, full, atol=1e-4)
    # every weight gets a gradient (the last layer has no residual convolution feeding nothing)
    with tf.GradientTape() as tape:
        loss = keras.ops.mean(keras.ops.abs(model(x)["speech"]))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(g is not None for g in grads)
    assert not any("block_3/residual" in v.path for v in model.trainable_variables)


def _speechlike(seconds=1.0, f0=140.0):
    t = np.arange(int(seconds * SR)) / SR
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 2.5 * t)
    return (0.3 * env * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))).astype(np.float32)


def test_oracle_methods_improve_over_the_mixture():
    rng = np.random.default_rng(0)
    m, s, n = mixing.mix_snr(_speechlike(), rng.normal(size=SR).astype(np.float32), 0.0)
    ibm = Separator("ibm_gt").separate(m, s)
    assert ibm.shape == m.shape and si_sdr(s, ibm) > si_sdr(s, m) + 5
    # B1-gt with a perfect magnitude estimate (the clean linear features, quiet enough that the
    # feature range -50..+30 dB re |X| does not clip them)
    s = 0.1 * s
    exact = F.linear_to_magnitude(F.linear_features(s))
    y = magnitude_with_phase(exact, s, len(s))
    assert si_sdr(s, y) > 25


def _identity_b1(frames=64):
    """A 'B1 encoder' that returns its linear input: the B1 feature -> waveform path with a
    perfect estimate when fed the clean signal."""
    lin = keras.Input((frames, 512), name="linear")
    mel = keras.Input((frames, 80), name="mel")
    return keras.Model({"linear": lin, "mel": mel}, keras.layers.Identity()(lin))


def test_b1_gt_oracle_path_through_separator():
    """Clean linear features + clean phase through Separator('b1_gt') (blocks, stitching,
    denormalisation, Nyquist, istft length) rebuild the clean signal; the mixture's own
    features + clean phase stay close to the input."""
    rng = np.random.default_rng(1)
    n = 3 * SR + 77  # 3 blocks of 64 frames (last one end-aligned), length not a multiple of the hop
    clean = 0.1 * np.tile(_speechlike(), 4)[:n]  # quiet: no bin above +30 dB (the linear range)
    assert np.abs(F.complex_stft(clean)).max() < 10 ** (30 / 20)
    sep = Separator("b1_gt", encoder=_identity_b1())
    y = sep.separate(clean, clean)
    assert y.shape == clean.shape and si_sdr(clean, y) > 25
    m, s, _ = mixing.mix_snr(clean, rng.normal(size=n).astype(np.float32), 5.0)
    g = 0.1 / np.abs(m).max()
    m, s = (g * m).astype(np.float32), (g * s).astype(np.float32)
    y = sep.separate(m, s)
    assert si_sdr(s, y) > si_sdr(s, m) - 0.5


def test_b1_griffin_lim_from_the_mixture_phase():
    """gl_init="mixture": an estimate equal to the mixture's magnitude, started from the
    mixture's phase, gives the mixture back (0 iterations: exactly; 20: still close), where
    random-phase Griffin-Lim cannot; an unknown start is refused."""
    rng = np.random.default_rng(2)
    n = 2 * SR + 55
    m, _, _ = mixing.mix_snr(0.1 * np.tile(_speechlike(), 3)[:n], rng.normal(size=n).astype(np.float32), 5.0)
    m = (0.1 * m / np.abs(m).max()).astype(np.float32)
    scores = {}
    for init, iters in (("mixture", 0), ("mixture", 20), ("random", 20)):
        y = Separator("b1", encoder=_identity_b1(), gl_iters=iters, gl_init=init).separate(m)
        assert y.shape == m.shape
        scores[init, iters] = si_sdr(m, y)
    assert scores["mixture", 0] > 25 and scores["mixture", 20] > 10 > scores["random", 20]
    with pytest.raises(InputError, match="Griffin-Lim start"):
        Separator("b1", encoder=_identity_b1(), gl_init="zeros")


def test_proposed_path_with_injected_encoder_and_vocoder(monkeypatch):
    enc = build_encoder("proposed", TINY)
    seen = {}

    class FakeGenerator:
        def __init__(self, model, cfg):
            seen["cfg"] = cfg

        def generate(self, mel, seed=0, progress=True, **kw):
            seen.setdefault("shapes", []).append(mel.shape)
            seen.setdefault("seeds", []).append(seed)
            return np.tile(mel.mean(axis=2, keepdims=True), (1, 1, F.HOP)).reshape(mel.shape[0], -1)

    monkeypatch.setattr(sep_mod, "FastWaveNetGenerator", FakeGenerator)
    cfg = WaveNetConfig()                 # the paper's mel, like the folder's features (none saved: the paper's)
    s = sep_mod.Separator("proposed", encoder=enc, vocoder_model=("model", cfg), vocoder_batch=2, seed=5,
                          postfilter_iters=0)
    mixes = [_speechlike(0.5), _speechlike(0.8), _speechlike(0.3)]
    outs = s.separate_many(mixes)
    assert [len(o) for o in outs] == [len(x) for x in mixes]
    T = [F.n_frames(len(x)) for x in mixes]
    assert seen["shapes"] == [(2, max(T[:2]), 80), (1, T[2], 80)]  # batched, padded to the longest
    assert seen["seeds"] == [5, 5]
    # the default post-filter pulls each output toward the mel it was generated from
    filtered = sep_mod.Separator("proposed", encoder=enc, vocoder_model=("model", cfg), vocoder_batch=2,
                                 seed=5).separate_many(mixes)
    mels = [s.estimate_features(x) for x in mixes]
    for raw, pf, mel, x in zip(outs, filtered, mels, mixes):
        assert len(pf) == len(x)
        frames = len(x) // cfg.hop
        error = {name: np.mean(np.abs(F.mel_features(y)[:frames] - mel[:frames]))
                 for name, y in (("raw", raw), ("pf", pf))}
        assert error["pf"] < 0.5 * error["raw"], error
    with pytest.raises(InputError, match="differs from the models' features"):
        other = WaveNetConfig(sample_rate=16000, n_fft=800, hop=200, upsample_scales=[10, 20])
        sep_mod.Separator("proposed", encoder=enc, vocoder_model=("model", other))


@pytest.mark.slow
def test_cli_help_and_bad_input(tmp_path):
    code = ("import sys; from separation.separate import main\n"
            "sys.argv=['separate','--method','ibm_gt','--input',sys.argv[1],'--output',sys.argv[2],"
            "'--reference',sys.argv[1]]\nmain()")
    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    r = subprocess.run([sys.executable, "-c", code, str(bad), str(tmp_path / "out.wav")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("error")]
    assert len(lines) == 1 and "empty.wav" in lines[0] and "empty" in lines[0]
    assert not (tmp_path / "out.wav").exists()


def test_time_budget_stops_mid_epoch_and_still_checkpoints(tmp_path):
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((64, 3), np.float32)
    cbs = standard_callbacks(tmp_path / "m.keras", tmp_path / "logs", 1e-3, max_minutes=0.0)
    hist = model.fit(x, x[:, :1], batch_size=8, epochs=5, validation_data=(x, x[:, :1]),
                     callbacks=cbs + [Count()], verbose=0)
    assert seen == [0]  # the budget (0 min) is checked after every batch, not per epoch
    assert len(hist.history["val_loss"]) == 1  # the cut epoch is still validated ...
    assert (tmp_path / "m.keras").is_file() and (tmp_path / "m.json").is_file()  # ... and checkpointed


def test_ema_checkpoint_holds_the_averaged_weights(tmp_path):
    """With swap_ema, validation and the best checkpoint use the optimizer's moving average."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    opt = keras.optimizers.Adam(0.1, use_ema=True, ema_momentum=0.5)
    model.compile(optimizer=opt, loss="mse")
    snap = {}

    class Snapshot(keras.callbacks.Callback):  # raw and averaged weights after the last batch
        def on_train_batch_end(self, batch, logs=None):
            snap["raw"] = [v.numpy() for v in opt._trainable_variables]
            snap["ema"] = [v.numpy() for v in opt._model_variables_moving_average]

    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    cbs = standard_callbacks(tmp_path / "m.keras", tmp_path / "logs", 0.1, swap_ema=True)
    model.fit(x, y, batch_size=8, epochs=1, validation_data=(x, y), callbacks=[Snapshot()] + cbs,
              verbose=0)
    saved = keras.saving.load_model(tmp_path / "m.keras").get_weights()
    assert not np.allclose(snap["raw"][0], snap["ema"][0])  # the average lags the raw weights
    for w, e in zip(saved, snap["ema"]):
        np.testing.assert_allclose(w, e, rtol=1e-6)


def test_proposed_gt_without_saved_settings_runs_at_the_vocoders_features():
    """No encoder and no features.json: proposed_gt takes the vocoder's rate and mel instead of the paper's."""
    cfg = WaveNetConfig(sample_rate=16000, n_fft=800, hop=200, upsample_scales=[10, 20], mel_fmin=50.0)
    s = sep_mod.Separator("proposed_gt", model_dir="no_such_folder", vocoder_model=("model", cfg))
    assert (s.fs.sample_rate, s.fs.hop, s.fs.mel_fmin) == (16000, 200, 50.0)
    assert sep_mod.Separator("ibm_gt", model_dir="no_such_folder").fs == F.PAPER
