"""separation.export: a trained folder becomes a small folder that `Separator` loads, the vocoder linked or
copied; bad folders are refused with one line and leave nothing behind."""
from pathlib import Path

import numpy as np
import pytest

from dsp.audio import InputError
from dsp.presets import save_config
from separation import features as F
from separation.encoder import EncoderConfig, build_encoder, compile_encoder
from separation.export import export, log_steps
from separation.separate import Separator

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_VOCODER = ROOT / "pretrained" / "wavenet"
TINY = EncoderConfig(frames=16, lstm_linear=4, lstm_mel=4, res_mid=4, res_out=8, depth=2, dropout=0.0, l2=0.0)


def _trained_folder(folder, fs):
    """A model folder as the trainers leave it: features.json, a compiled encoder with optimizer state, its
    .json and its log."""
    F.claim_settings(folder, fs)
    model = compile_encoder(build_encoder("b1", TINY, n_linear=fs.n_linear, n_mels=fs.n_mels))
    model.run_eagerly = True   # one step of a tiny model: no graph tracing (a minute on a loaded machine)
    x = {"linear": np.random.default_rng(0).random((2, 16, fs.n_linear), np.float32),
         "mel": np.random.default_rng(1).random((2, 16, fs.n_mels), np.float32)}
    model.fit(x, x["linear"], epochs=1, verbose=0)   # builds the optimizer's state
    model.save(folder / "encoder_b1.keras")
    save_config(folder / "encoder_b1.json", {"config": TINY.to_dict(), "epoch": 1, "best": 0.1, "steps_per_epoch": 2})
    (folder / "logs" / "encoder_b1").mkdir(parents=True)
    (folder / "logs" / "encoder_b1" / "history.csv").write_text("epoch,loss,val_loss\n0,0.2,0.1\n")
    return model, x


def test_export_links_the_vocoder_and_drops_the_optimizer(tmp_path):
    fs = F.settings_of(SHIPPED_VOCODER)
    model, x = _trained_folder(tmp_path / "models", fs)
    out = tmp_path / "shipped"
    assert export(tmp_path / "models", out, SHIPPED_VOCODER, link_vocoder=True) == ["encoder_b1"]
    assert (out / "vocoder.keras").is_symlink() and not Path((out / "vocoder.keras").readlink()).is_absolute()
    assert (out / "vocoder.keras").resolve() == (SHIPPED_VOCODER / "vocoder.keras").resolve()
    assert (out / "logs" / "encoder_b1.csv").read_text().startswith("epoch,loss")
    assert (out / "learning_curves.png").stat().st_size > 5000
    assert F.load_settings(out) == fs and (out / "encoder_b1.json").is_file()
    assert (out / "encoder_b1.keras").stat().st_size < 0.6 * (tmp_path / "models" / "encoder_b1.keras").stat().st_size
    sep = Separator("b1", out, progress=False)
    np.testing.assert_allclose(np.asarray(sep.encoder(x, training=False)), np.asarray(model(x, training=False)),
                               atol=1e-6)
    export(tmp_path / "models", out, SHIPPED_VOCODER)             # again, copied: replaces the folder
    assert not (out / "vocoder.keras").is_symlink() and (out / "vocoder.json").is_file()
    assert not list(tmp_path.glob(".*tmp*"))


def test_bad_folders_are_refused_and_nothing_is_written(tmp_path):
    out = tmp_path / "shipped"
    with pytest.raises(InputError, match="features.json: not found"):
        export(tmp_path, out, SHIPPED_VOCODER)
    F.claim_settings(tmp_path / "paper", F.PAPER)       # 22.05 kHz models, a 16 kHz vocoder
    with pytest.raises(InputError, match="vocoder's rate or mel differs"):
        export(tmp_path / "paper", out, SHIPPED_VOCODER)
    with pytest.raises(InputError, match="vocoder checkpoint"):
        export(tmp_path / "paper", out, tmp_path / "nowhere")
    F.claim_settings(tmp_path / "empty", F.settings_of(SHIPPED_VOCODER))
    with pytest.raises(InputError, match="none of encoder_proposed.keras"):
        export(tmp_path / "empty", out, SHIPPED_VOCODER)
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))


def test_log_steps_place_a_warm_restart_after_the_run_it_continues():
    """A finished 3-epoch run continued for 2 more logs epochs 0, 1, 2, 0, 1: the curve goes on
    (steps 10..50), it does not fold back onto the first run."""
    rows = [{"epoch": e} for e in (0, 1, 2, 0, 1)]
    assert log_steps(rows, 10) == [10, 20, 30, 40, 50]
    assert log_steps([{"epoch": 4}, {"epoch": 5}], 25) == [125, 150]   # a log trimmed on resume
    assert log_steps([], 25) == []
