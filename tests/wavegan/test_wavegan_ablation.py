"""wavegan.ablation: group means across seeds at shared steps, and bad curves refused in one line."""
import json

import numpy as np
import pytest

from dsp.audio import InputError
from wavegan import ablation


def _curve(folder, steps, scores):
    folder.mkdir()
    (folder / "inception_curve.json").write_text(json.dumps(
        {"steps": steps, "inception_score": scores}))
    return folder


def test_means_and_spread_across_seeds_at_the_shared_steps(tmp_path, capsys):
    a = _curve(tmp_path / "a", [0, 100, 200], [1.0, 2.0, 3.0])
    b = _curve(tmp_path / "b", [0, 100, 200, 300], [1.0, 4.0, 5.0, 6.0])   # 300: b only
    c = _curve(tmp_path / "c", [0, 100, 200], [1.0, 1.5, 2.0])
    fig = tmp_path / "figures" / "wavegan" / "abl.png"                      # folders created
    ablation.main(["--group", "n=2", str(a), str(b), "--group", "n=0", str(c), "--figure", str(fig)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n=2"]["steps"] == [0, 100, 200]
    np.testing.assert_allclose(out["n=2"]["mean"], [1.0, 3.0, 4.0])
    np.testing.assert_allclose(out["n=2"]["std"], [0.0, 1.0, 1.0])
    assert out["n=2"]["final"] == [3.0, 6.0] and out["n=0"]["mean"] == [1.0, 1.5, 2.0]
    assert fig.stat().st_size > 1000 and json.loads(fig.with_suffix(".json").read_text()) == out


def test_missing_and_malformed_curves_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no inception curve"):
        ablation.summarise({"x": [tmp_path / "nowhere"]})
    bad = _curve(tmp_path / "bad", [0, 100], [1.0])
    with pytest.raises(InputError, match="one length"):
        ablation.summarise({"x": [bad]})
    disjoint = [_curve(tmp_path / "p", [0], [1.0]), _curve(tmp_path / "q", [5], [1.0])]
    with pytest.raises(InputError, match="share no scored step"):
        ablation.summarise({"x": disjoint})
