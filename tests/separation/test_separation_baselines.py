"""A few training steps of the encoder and of B2 on fixed synthetic sets beat the identity (mixture) baseline
on held-out examples of the same kind: the models learn to take the noise out, not merely to copy."""
import keras
import numpy as np
import pytest

from separation.denoising_wavenet import B2Config, build_denoising_wavenet, compile_b2
from separation.encoder import EncoderConfig, build_encoder, compile_encoder
from separation.layers import weighted_squared_error

N_MELS, N_LINEAR, FRAMES = 80, 400, 16


def mel_examples(n, rng):
    """Clean "speech" mels (three gliding Gaussian ridges below band 60) and mixtures with a steady noise band
    (bands 60-71 at 0.7, log-domain max) plus a little noise everywhere.

    Returns:
        ({"linear": [n, FRAMES, N_LINEAR], "mel": [n, FRAMES, N_MELS]}, clean mel [n, FRAMES, N_MELS]).
    """
    t, band = np.arange(FRAMES)[:, None], np.arange(N_MELS)[None]
    clean = np.zeros((n, FRAMES, N_MELS), np.float32)
    for i in range(n):
        for _ in range(3):
            centre, slope = rng.uniform(5, 55), rng.uniform(-0.5, 0.5)
            width, level = rng.uniform(2, 5), rng.uniform(0.4, 0.9)
            clean[i] = np.maximum(clean[i], level * np.exp(-0.5 * ((band - centre - slope * t) / width) ** 2))
    noise = np.zeros_like(clean)
    noise[:, :, 60:72] = 0.7
    mix = np.maximum(clean, noise + 0.05 * rng.random(clean.shape)).astype(np.float32)
    return {"linear": np.repeat(mix, N_LINEAR // N_MELS, axis=2), "mel": mix}, clean


@pytest.mark.slow   # tracing the encoder's graph: ~25 s
def test_encoder_beats_the_mixture_mel_after_a_few_steps():
    rng = np.random.default_rng(0)
    (x, y), (val_x, val_y) = mel_examples(64, rng), mel_examples(32, rng)
    keras.utils.set_random_seed(0)
    cfg = EncoderConfig(frames=FRAMES, lstm_linear=4, lstm_mel=4, res_mid=4, res_out=8, depth=1, dropout=0.0, l2=0.0)
    model = compile_encoder(build_encoder("proposed", cfg, n_linear=N_LINEAR, n_mels=N_MELS), 1e-2)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)          # 16 steps
    identity = float(np.mean(keras.ops.convert_to_numpy(weighted_squared_error(val_y, val_x["mel"]))))
    assert model.evaluate(val_x, val_y, verbose=0) < 0.6 * identity


def b2_windows(n, rng, cfg):
    """Tones (150-500 Hz at 16 kHz, random phase and level) in white noise, as B2's training windows.

    Returns:
        (mixture [n, input_length], {"speech": [n, target_field], "noise": [n, target_field]}).
    """
    t = np.arange(cfg.input_length) / 16000
    speech = np.stack([rng.uniform(0.2, 0.5) * np.sin(2 * np.pi * rng.uniform(150, 500) * t + rng.uniform(0, 6))
                       for _ in range(n)]).astype(np.float32)
    noise = (0.15 * rng.standard_normal(speech.shape)).astype(np.float32)
    centre = slice((cfg.model_field - 1) // 2, (cfg.model_field - 1) // 2 + cfg.target_field)
    return speech + noise, {"speech": speech[:, centre], "noise": noise[:, centre]}


@pytest.mark.parametrize("loss, error", [("mae", np.abs), ("mse", np.square)])
def test_b2_beats_the_mixture_after_a_few_steps(loss, error):
    cfg = B2Config(stacks=1, max_dilation_exp=4, residual_channels=8, gate_channels=16, skip_channels=8,
                   head_channels=(16, 8), target_field=64)
    rng = np.random.default_rng(0)
    (x, y), (val_x, val_y) = b2_windows(256, rng, cfg), b2_windows(64, rng, cfg)
    keras.utils.set_random_seed(0)
    model = compile_b2(build_denoising_wavenet(cfg), 3e-3, loss=loss)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)          # 32 steps
    # the mixture as the speech estimate: its error is the noise's, and B2's noise output (mixture minus
    # speech) is then 0, off by the noise again
    identity = 2 * float(np.mean(error(val_y["noise"])))
    assert model.evaluate(val_x, val_y, verbose=0, return_dict=True)["loss"] < 0.6 * identity


def test_b2_refuses_an_unknown_loss():
    with pytest.raises(ValueError, match="huber"):
        compile_b2(build_denoising_wavenet(B2Config(stacks=1, max_dilation_exp=2, residual_channels=4,
                                                    gate_channels=8, skip_channels=4, head_channels=(8, 4),
                                                    target_field=16)), loss="huber")
