"""Interrupted separation training resumes exactly (issue 22): ``separation.train_encoder``
(the proposed mel encoder, with LSTM dropout) and ``separation.train_b2`` (with the EMA weight
average), each killed with SIGKILL in the middle of an epoch after its first backup, re-run
with the same command (``--resume`` is the default) and compared with an uninterrupted run
started alongside (deterministic kernels, one thread, ``--seed 0``; tests/resume_probe.py).
"""

import keras
import numpy as np
import pytest

from dsp.audio import InputError
from dsp.presets import save_config
from dsp.resume import checkpoint_state
from separation import train_b2, train_encoder
from separation.denoising_wavenet import B2Config, build_denoising_wavenet, compile_b2
from separation.encoder import EncoderConfig, build_encoder, compile_encoder
from separation.training import BestCheckpoint, ExactSwapEMAWeights, keep_optimizer_state, metadata_path
from tests.separation.mixtures import write_mixtures
from tests.separation.test_separation_baselines import b2_windows
from tests.resume_probe import check_resume

EPOCHS = 3
TOLERANCE = 0.0  # one thread, deterministic kernels, the same batches: bit-identical
ENCODER = {"frames": 8, "lstm_linear": 4, "lstm_mel": 4, "res_mid": 4, "res_out": 8, "depth": 1,
           "dropout": 0.25, "l2": 1e-7, "bn_momentum": 0.9}
B2 = {"stacks": 1, "max_dilation_exp": 3, "residual_channels": 4, "gate_channels": 8,
      "skip_channels": 4, "head_channels": [8, 4], "target_field": 50, "ema": 0.9}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_mixtures(tmp_path_factory.mktemp("separation_resume"), {"encoder": ENCODER, "b2": B2})


def _backup(folder, name):
    return folder / "logs" / name / "backup" / "latest.weights.h5"


def _loader(name, args_of, build):
    """folder -> (weights, optimizer steps) of the backup, loaded into a model built like the CLI's."""
    def load(folder):
        args = args_of(folder)
        model = build(args)
        model.optimizer.build(model.trainable_variables)
        model.load_weights(_backup(folder, name))
        return [keras.ops.convert_to_numpy(w) for w in model.weights], int(model.optimizer.iterations)
    return load


def _run(data, tmp_path, name, module, parse, build, steps):
    def command(folder):
        return ["-m", module, "--preset", str(data / f"{'b2' if name == 'b2' else 'encoder'}.json"),
                "--data_dir", str(data / "mix"), "--model_dir", str(folder), "--epochs", str(EPOCHS),
                "--steps_per_epoch", str(steps), "--batch_size", "2", "--max_minutes", "100",
                "--seed", "0"]

    def saved_epoch(folder):
        return (checkpoint_state(_backup(folder, name)) or {}).get("epoch", 0)

    result = check_resume(tmp_path, command, saved_epoch,
                          _loader(name, lambda folder: parse(command(folder)[2:]), build),
                          lambda n: f"resuming after epoch {n}", EPOCHS, steps,
                          log=lambda folder: folder / "logs" / name / "history.csv",
                          loss_keys=("loss", "val_loss"), tolerance=TOLERANCE, name=name)
    # the finished run removed its backup; the best checkpoints of both runs agree
    assert not _backup(tmp_path / "run", name).exists()
    best = keras.saving.load_model(tmp_path / "run" / f"{name}.keras").weights
    ref_best = keras.saving.load_model(tmp_path / "reference" / f"{name}.keras").weights
    for w, r in zip(best, ref_best):
        assert float(keras.ops.max(keras.ops.abs(w - r))) <= TOLERANCE
    return result


@pytest.mark.slow
def test_encoder_resumes_exactly_after_sigkill(data, tmp_path):
    def build(args):
        cfg = EncoderConfig.from_dict(vars(args))
        return compile_encoder(build_encoder(args.kind, cfg), args.lr)

    result = _run(data, tmp_path, "encoder_proposed", "separation.train_encoder", train_encoder.parse,
                  build, steps=10)
    assert result["resumed_from"] == result["saved"] >= 1


@pytest.mark.slow
def test_b2_resumes_exactly_after_sigkill(data, tmp_path):
    def build(args):
        return compile_b2(build_denoising_wavenet(B2Config.from_dict(vars(args))), args.lr,
                          ema_momentum=args.ema)

    result = _run(data, tmp_path, "b2", "separation.train_b2", train_b2.parse, build, steps=40)
    assert result["resumed_from"] == result["saved"] >= 1


def test_ema_swap_is_an_exact_exchange():
    """Keras' TensorFlow swap (a + b - b) moves weights far from their average by rounding
    (~1e-8 here); the trainers' swap exchanges them exactly, so swapping for validation and
    back never changes what training continues with."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((50,)), keras.layers.Dense(50)])
    opt = keras.optimizers.Adam(0.1, use_ema=True, ema_momentum=0.9)
    model.compile(optimizer=opt, loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 50)).astype("float32")
    model.fit(x, x, epochs=1, verbose=0)
    rng = np.random.default_rng(1)
    for v in opt._model_variables_moving_average:
        v.assign(1e-3 * rng.normal(size=v.shape).astype("float32"))

    def snapshot():
        return ([v.numpy().copy() for v in opt._trainable_variables],
                [v.numpy().copy() for v in opt._model_variables_moving_average])

    raw, avg = snapshot()
    drift = {}
    for cls in (keras.callbacks.SwapEMAWeights, ExactSwapEMAWeights):
        swap = cls()
        swap.set_model(model)
        swap._swap_variables()
        swapped = snapshot()
        swap._swap_variables()
        back = snapshot()
        drift[cls.__name__] = max(float(np.abs(a - b).max()) for a, b in
                                  zip(swapped[0] + swapped[1] + back[0] + back[1], avg + raw + raw + avg))
        for v, value in zip(opt._trainable_variables + opt._model_variables_moving_average, raw + avg):
            v.assign(value)
    assert drift["ExactSwapEMAWeights"] == 0.0 and drift["SwapEMAWeights"] > 0.0


@pytest.mark.parametrize("saved_loss, loss, kept", [(None, "mae", True),     # written before --loss: L1
                                                    ("mae", "mae", True), (None, None, True),
                                                    ("mae", "mse", False), (None, "mse", False)])
def test_best_checkpoint_compares_scores_of_the_same_loss_only(tmp_path, saved_loss, loss, kept):
    """A warm restart under another loss must not keep waiting for the old loss's score."""
    ckpt = tmp_path / "b2.keras"
    save_config(metadata_path(ckpt), {"best": 0.07, **({"loss": saved_loss} if saved_loss else {})})
    best = BestCheckpoint(ckpt, extra={"loss": loss} if loss else {}).best
    assert best == (0.07 if kept else float("inf"))


def _tiny_b2(ema):
    cfg = B2Config(stacks=1, max_dilation_exp=2, residual_channels=4, gate_channels=8, skip_channels=4,
                   head_channels=(8, 4), target_field=16)
    return cfg, compile_b2(build_denoising_wavenet(cfg), 1e-2, ema_momentum=ema)


def _fit_and_keep_best(tmp_path, ema):
    """Two epochs of two steps, the first checkpointed as the trainers do: the average in the model, the raw
    weights in the optimizer's slots."""
    keras.utils.set_random_seed(0)
    cfg, model = _tiny_b2(ema)
    x, y = b2_windows(8, np.random.default_rng(0), cfg)
    saved = {}

    def score(epoch, logs):      # the first epoch is the best: the last one's slots hold the average too
        logs["score"] = float(epoch)

    def snapshot(epoch, logs):   # as the checkpoint was written
        if epoch:
            return
        opt = model.optimizer
        saved.update(weights=[w.numpy().copy() for w in model.trainable_variables],
                     slots=[a.numpy().copy() for a in opt._model_variables_moving_average] if ema else None,
                     iterations=int(opt.iterations.numpy()))

    callbacks = [ExactSwapEMAWeights(swap_on_epoch=True)] if ema else []
    callbacks += [keras.callbacks.LambdaCallback(on_epoch_end=score),
                  BestCheckpoint(tmp_path / "b2.keras", monitor="score"),
                  keras.callbacks.LambdaCallback(on_epoch_end=snapshot)]
    model.fit(x, y, batch_size=4, epochs=2, callbacks=callbacks, verbose=0)
    return saved["weights"], saved["slots"], saved["iterations"]


def test_keep_optimizer_continues_from_the_raw_weights_and_the_average(tmp_path):
    averaged, raw, iterations = _fit_and_keep_best(tmp_path, ema=0.9)
    _, model = _tiny_b2(0.9)
    keep_optimizer_state(model, tmp_path / "b2.keras")
    opt = model.optimizer
    assert int(opt.iterations.numpy()) == iterations == 2
    for w, r in zip(model.trainable_variables, raw):
        np.testing.assert_array_equal(w.numpy(), r)
    for a, m in zip(opt._model_variables_moving_average, averaged):
        np.testing.assert_array_equal(a.numpy(), m)
    assert any(not np.array_equal(r, m) for r, m in zip(raw, averaged))   # the exchange is not a no-op
    assert any(np.abs(v.numpy()).max() > 0 for v in opt.variables[2:])   # Adam's moments came back


def test_keep_optimizer_refuses_a_checkpoint_without_matching_state(tmp_path):
    _fit_and_keep_best(tmp_path, ema=None)
    _, model = _tiny_b2(0.9)      # an average now, none then: the saved optimizer has fewer variables
    with pytest.raises(InputError, match="b2.keras.*optimizer state"):
        keep_optimizer_state(model, tmp_path / "b2.keras")
