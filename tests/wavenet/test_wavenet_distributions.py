"""WaveNet output distributions: losses against numpy references, sampling statistics."""
import math

import numpy as np
import pytest

import keras
from keras import ops

from dsp.mulaw import mu_law_encode
from wavenet.distributions import (MixtureLogisticLoss, MuLawCrossEntropy, mol_log_prob, np_sample_categorical,
                                   np_sample_mol, sample_categorical, sample_mol)
from wavenet.fast_kernels import _floored_gumbel_argmax
from wavenet.layers import MuLawCompand


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_mol_mass(y, logits, means, log_scales, num_classes):
    """Reference: probability of the bin centred on y, summed over components (float64)."""
    w = np.exp(logits - logits.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    s = np.exp(np.maximum(log_scales, -7.0))
    h = 1.0 / (num_classes - 1)
    y = y[..., None]
    upper = np.where(y > 1 - h, 1.0, _sigmoid((y + h - means) / s))
    lower = np.where(y < -1 + h, 0.0, _sigmoid((y - h - means) / s))
    return (w * (upper - lower)).sum(-1)


def _params(logits, means, log_scales):
    return np.concatenate([logits, means, log_scales], axis=-1).astype("float32")


def test_mulaw_cross_entropy_matches_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (2, 7, 256)).astype("float32")
    codes = rng.integers(0, 256, (2, 7))
    z = logits.astype(np.float64)
    log_softmax = z - z.max(-1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(-1, keepdims=True))
    expected = -np.take_along_axis(log_softmax, codes[..., None], -1).mean()
    got = float(MuLawCrossEntropy()(codes, logits))
    assert got == pytest.approx(expected, rel=1e-5)
    assert float(MuLawCrossEntropy()(codes[..., None], logits)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("num_classes", [256, 65536])
def test_mixture_logistic_log_prob_matches_numpy(num_classes):
    rng = np.random.default_rng(1)
    k = 4
    shape = (3, 50)
    logits = rng.normal(0, 1, shape + (k,))
    means = rng.uniform(-0.9, 0.9, shape + (k,))
    log_scales = rng.uniform(-4.0, -1.0, shape + (k,))
    idx = rng.integers(0, num_classes, shape)
    idx[0, :3] = [0, num_classes - 1, 1]                    # edge bins
    y = -1.0 + 2.0 * idx / (num_classes - 1)
    ref = np.log(np_mol_mass(y, logits, means, log_scales, num_classes))
    got = np.asarray(mol_log_prob(y.astype("float32"), _params(logits, means, log_scales), k, num_classes))
    np.testing.assert_allclose(got, ref, atol=2e-3, rtol=1e-3)
    loss = float(MixtureLogisticLoss(k, num_classes)(y.astype("float32"), _params(logits, means, log_scales)))
    assert loss == pytest.approx(-ref.mean(), rel=1e-3)


def test_mixture_logistic_masses_sum_to_one_over_all_16bit_levels():
    k = 3
    logits, means, log_scales = np.array([0.3, -0.2, 1.0]), np.array([-0.5, 0.02, 0.995]), np.array([-3., -6., -5.])
    y = np.linspace(-1.0, 1.0, 65536).astype("float32")
    params = np.broadcast_to(_params(logits, means, log_scales), (65536, 3 * k))
    mass = np.exp(np.asarray(mol_log_prob(y, params, k), np.float64))
    assert mass.sum() == pytest.approx(1.0, abs=2e-3)


def test_mixture_logistic_loss_serialises():
    loss = MixtureLogisticLoss(7, 1024)
    again = MixtureLogisticLoss.from_config(loss.get_config())
    assert (again.n_mixtures, again.num_classes) == (7, 1024)


def test_categorical_sampling_statistics():
    logits = np.array([[0.0, 1.0, 2.0, -1.0]], np.float32)
    n = 20000
    for temperature in (1.0, 0.5):
        p = np.exp(logits[0] / temperature)
        p /= p.sum()
        draws_np = np_sample_categorical(np.repeat(logits, n, 0), temperature, np.random.default_rng(0))
        draws_ops = np.asarray(sample_categorical(ops.convert_to_tensor(np.repeat(logits, n, 0)),
                                                  temperature, seed=1))
        for draws in (draws_np, draws_ops):
            freq = np.bincount(draws, minlength=4) / n
            np.testing.assert_allclose(freq, p, atol=4 * math.sqrt(0.25 / n))
    assert np_sample_categorical(logits, 0, None)[0] == 2
    assert int(np.asarray(sample_categorical(logits, 0.0))[0]) == 2


def test_mixture_logistic_sampling_statistics():
    n = 40000
    # two well separated components with weights 0.3 / 0.7
    logits = np.log([0.3, 0.7])
    means = np.array([-0.5, 0.4])
    log_scales = np.log([0.02, 0.05])
    params = np.repeat(_params(logits, means, log_scales)[None], n, 0)
    for x in (np_sample_mol(params, 2, 1.0, np.random.default_rng(0)),
              np.asarray(sample_mol(ops.convert_to_tensor(params), 2, 1.0, seed=2))):
        assert x.min() >= -1 and x.max() <= 1
        assert np.mean(x > 0) == pytest.approx(0.7, abs=0.015)
        right = x[x > 0]
        assert right.mean() == pytest.approx(0.4, abs=0.005)
        # logistic std = s * pi / sqrt(3)
        assert right.std() == pytest.approx(0.05 * math.pi / math.sqrt(3), rel=0.05)
    greedy = np_sample_mol(params[:100], 2, 0.0, np.random.default_rng(0))
    assert np.all(np.isclose(greedy, -0.5) | np.isclose(greedy, 0.4))
    assert 0.5 < np.mean(np.isclose(greedy, 0.4)) < 0.9


def test_mulaw_compand_layer_matches_dsp_codes():
    x = np.linspace(-1, 1, 2001).astype("float32")[:, None]
    f = np.asarray(MuLawCompand()(x))[:, 0]
    codes = np.rint((f.astype(np.float64) + 1) / 2 * 255).astype(int)
    assert np.mean(codes == mu_law_encode(x[:, 0])) > 0.995   # only float32 rounding ties may differ
    assert np.abs(codes - mu_law_encode(x[:, 0])).max() <= 1
    assert keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(MuLawCompand(63))).mu == 63


def test_losses_deserialise_from_the_previous_layout_module():
    """Compiled checkpoints of the old layout name separation.wavenet_distributions as the module."""
    for cls, extra in ((MixtureLogisticLoss, {"n_mixtures": 3}), (MuLawCrossEntropy, {})):
        config = keras.saving.serialize_keras_object(cls(**extra))
        assert config["registered_name"] == f"audiosynth.wavenet>{cls.__name__}"
        config["module"] = "separation.wavenet_distributions"
        loss = keras.saving.deserialize_keras_object(config)
        assert type(loss) is cls
    assert loss.name == "mulaw_cross_entropy"


def test_floored_sampling_draws_from_the_lowered_renormalised_distribution():
    """LPCNet's threshold: codes are drawn with probability max(p - floor, 0) / sum, measured over 20,000 draws;
    a floor above every probability leaves the most likely code."""
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], np.float32))
    n, floor = 20000, 0.1
    gumbel = np.random.default_rng(0).gumbel(size=(n, 4))
    draws = np.array([_floored_gumbel_argmax(logits, floor, g) for g in gumbel])
    expected = np.array([0.4, 0.2, 0.05, 0.0]) / 0.65
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / n, expected, atol=4 * math.sqrt(0.25 / n))
    assert _floored_gumbel_argmax(logits, 0.6, gumbel[0]) == 0
