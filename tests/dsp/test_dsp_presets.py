"""dsp.presets: preset files as flag defaults, refused settings, saved configurations."""
import argparse
import json
from pathlib import Path

import pytest

from dsp.audio import InputError
from dsp.presets import load_config, load_preset, parse_args, preset_names, save_config


@pytest.fixture
def preset_dir(tmp_path):
    d = tmp_path / "presets"
    d.mkdir()
    (d / "quick.json").write_text(json.dumps({"_comment": "a smoke run", "lr": 0.01, "steps": 5}))
    (d / "paper.json").write_text(json.dumps({"lr": 0.0002, "steps": 100000, "name": "paper"}))
    return d


def parser():
    p = argparse.ArgumentParser(prog="train")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--name", default="run")
    p.add_argument("--out_dir", type=Path, default=Path("exp"))
    return p


def test_load_preset_by_name_and_by_path(preset_dir):
    assert preset_names(preset_dir) == ["paper", "quick"]
    assert load_preset(preset_dir, "quick") == {"lr": 0.01, "steps": 5}  # _comment dropped
    assert load_preset(preset_dir, str(preset_dir / "paper.json"))["steps"] == 100000


def test_preset_sets_defaults_and_flags_override_it(preset_dir):
    args = parse_args(parser(), preset_dir, [], default="quick")
    assert (args.lr, args.steps, args.name, args.preset) == (0.01, 5, "run", "quick")
    args = parse_args(parser(), preset_dir, ["--preset", "paper", "--steps", "7"], default="quick")
    assert (args.lr, args.steps, args.name) == (0.0002, 7, "paper")  # the flag wins
    args = parse_args(parser(), preset_dir, ["--steps=3", "--preset=quick"])
    assert args.steps == 3


def test_unknown_setting_or_preset_is_one_line_input_error(preset_dir):
    (preset_dir / "typo.json").write_text(json.dumps({"lr": 0.1, "stepz": 5}))
    with pytest.raises(InputError) as info:
        parse_args(parser(), preset_dir, ["--preset", "typo"], default="quick")
    message = str(info.value)
    assert "\n" not in message and "stepz" in message and "typo" in message
    with pytest.raises(InputError, match=r"no preset named 'nope' \(known: paper, quick, typo\)"):
        parse_args(parser(), preset_dir, ["--preset", "nope"], default="quick")
    (preset_dir / "list.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="JSON object"):
        load_preset(preset_dir, "list")
    (preset_dir / "broken.json").write_text("{")
    with pytest.raises(InputError, match="not a readable JSON preset"):
        load_preset(preset_dir, "broken")
    with pytest.raises(InputError, match="preset file not found"):
        load_preset(preset_dir, str(preset_dir / "missing.json"))


def test_save_config_load_config_round_trip(preset_dir, tmp_path):
    args = parse_args(parser(), preset_dir, ["--out_dir", str(tmp_path / "m")], default="paper")
    path = tmp_path / "config.json"
    save_config(path, args)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    config = load_config(path)
    assert config == {"lr": 0.0002, "steps": 100000, "name": "paper",
                      "out_dir": str(tmp_path / "m"), "preset": "paper"}
    # a saved configuration is itself a preset: the same run again
    again = parse_args(parser(), preset_dir, ["--preset", str(path)])
    assert vars(again) | {"preset": "paper", "out_dir": str(again.out_dir)} == config
    with pytest.raises(InputError, match="configuration not found"):
        load_config(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("not json")
    with pytest.raises(InputError, match="unreadable configuration"):
        load_config(tmp_path / "bad.json")
