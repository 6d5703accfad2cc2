"""resgan.predictability: the ridge read-out recovers pulses that depend on the inputs (linearly, through
a square, or through a neighbouring frame), stays at the mean pulse's MSE when they carry no information,
and the CLI prints one JSON line per test folder or refuses bad input with one line."""
import json
import shutil

import numpy as np
import pytest

from resgan.predictability import RidgeReadout, context_frames, main, measure

N_IN = 21


def _utterances(rng, make_targets, n_utts=6, frames=300):
    """``[(inputs [frames, 21], targets [frames, 400], voiced)]`` with targets = make_targets(inputs) + noise."""
    pattern = np.sin(np.linspace(0, 6 * np.pi, 400)) * np.hanning(400)
    out = []
    for _ in range(n_utts):
        x = rng.standard_normal((frames, N_IN))
        y = make_targets(x)[:, None] * pattern[None, :] + 0.02 * rng.standard_normal((frames, 400))
        voiced = rng.random(frames) < 0.7
        out.append((x, y, voiced))
    return out


def _ratio(make_targets, context=3, seed=0, frames=300):
    rng = np.random.default_rng(seed)
    train = _utterances(rng, make_targets, frames=frames)
    test = _utterances(rng, make_targets, n_utts=3, frames=frames)
    return measure(train, {"test": test}, context=context)["test"]


def test_context_frames_puts_neighbours_side_by_side_and_repeats_the_edges():
    x = np.arange(8, dtype=float).reshape(4, 2)   # frame t holds (2t, 2t + 1)
    c = context_frames(x, 1)
    assert c.shape == (4, 6)
    np.testing.assert_array_equal(c[0], [0, 1, 0, 1, 2, 3])   # frame -1 repeats frame 0
    np.testing.assert_array_equal(c[2], [2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(c[3], [4, 5, 6, 7, 6, 7])
    np.testing.assert_array_equal(context_frames(x, 0), x)


@pytest.mark.parametrize("name, make_targets", [
    ("linear", lambda x: 0.5 + x[:, 3] - 0.5 * x[:, 20]),
    ("square", lambda x: x[:, 7] ** 2),
    ("next frame", lambda x: np.concatenate([x[2:, 0], x[-1:, 0], x[-1:, 0]])),   # input of frame t + 2
])
def test_pulses_that_depend_on_the_inputs_are_recovered(name, make_targets):
    scores = _ratio(make_targets)
    assert scores["ratio_ridge_mean"] < 0.05, (name, scores)


def test_without_context_a_neighbouring_frame_is_out_of_reach():
    scores = _ratio(lambda x: np.concatenate([x[2:, 0], x[-1:, 0], x[-1:, 0]]), context=0)
    assert scores["ratio_ridge_mean"] > 0.9


def test_pulses_independent_of_the_inputs_stay_at_the_mean_pulse():
    # enough frames per feature that the read-out cannot fit the noise (the real corpora have ~2000x more)
    scores = _ratio(lambda x: 0.3 + 0.0 * x[:, 0] + np.random.default_rng(5).standard_normal(len(x)),
                    context=1, frames=2000)
    assert 0.99 < scores["ratio_ridge_mean"] < 1.03, scores
    # the mean pulse (0.3 x pattern) is the one thing to learn: it beats silence
    assert scores["mse_mean_pulse_voiced"] < 0.95 * scores["mse_zero_voiced"]


def test_counts_and_refusals():
    rng = np.random.default_rng(1)
    train = _utterances(rng, lambda x: x[:, 0])
    scores = measure(train, {"a": train[:2]})["a"]
    assert scores["n_train_voiced"] == sum(int(v.sum()) for _, _, v in train)
    assert scores["n_test_voiced"] == sum(int(v.sum()) for _, _, v in train[:2])
    with pytest.raises(ValueError, match=">= 0"):
        RidgeReadout(context=-1)
    with pytest.raises(RuntimeError, match="fit"):
        RidgeReadout().predict(train[0][0])


def test_cli_prints_a_line_per_test_folder_and_one_for_all(tiny_corpus, tmp_path, capsys):
    wavs = sorted((tiny_corpus / "wav").glob("*.wav"))
    folders = {name: tmp_path / name for name in ("train", "a", "b")}
    for folder in folders.values():
        folder.mkdir()
    for i, wav in enumerate(wavs):
        shutil.copy(wav, folders["train" if i < 2 else "a" if i == 2 else "b"])
    out = tmp_path / "lines.jsonl"
    assert main(["--train_dir", str(folders["train"]), "--test_dir", str(folders["a"]), str(folders["b"]),
                 "--context", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip()
    assert out.read_text().strip() == printed
    lines = [json.loads(line) for line in printed.splitlines()]
    assert [line["test_dir"] for line in lines] == [str(folders["a"]), str(folders["b"]), "all"]
    assert lines[2]["n_test_files"] == 2 and lines[0]["n_train_files"] == 2
    assert lines[2]["n_test_voiced"] == lines[0]["n_test_voiced"] + lines[1]["n_test_voiced"]
    for line in lines:
        assert np.isfinite(line["ratio_ridge_mean"]) and line["mse_zero_voiced"] > 0


def test_cli_refuses_a_missing_folder_with_one_line(tiny_corpus, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--train_dir", str(tiny_corpus / "wav"), "--test_dir", str(tmp_path / "nowhere")])
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("nowhere: audio folder not found") and len(err.splitlines()) == 1, err   # before any analysis
