"""The presets of the separation chain: JSON files in ``separation/presets/<model>/NAME.json``.

One folder per command, the same names in each (``default``: the synthetic CPU chain,
``realdata``: ``run.sh --realdata DIR``, ``paper``: the published sizes):

    mixtures/   flags of ``python -m separation.make_mixtures``  (stage 1)
    proposed/   flags of ``python -m separation.train_encoder --kind proposed``  (stage 2)
    b1/         flags of ``python -m separation.train_encoder --kind b1``  (stage 2)
    b2/         flags of ``python -m separation.train_b2``  (stage 3)
    vocoder/    flags of ``python -m wavenet.train``  (stage 4; ``preset`` names wavenet's own preset)

The trainers read their folder with `dsp.presets.parse_args`. The vocoder's settings are
flags of another package's CLI, so stage 4 asks this module for them (fast: no Keras):

    python -m separation.settings vocoder realdata    # one command-line word per line
"""
import argparse
import sys
from pathlib import Path

from dsp.audio import cli_main
from dsp.presets import load_preset

PRESET_DIR = Path(__file__).resolve().parent / "presets"
MODELS = ("mixtures", "proposed", "b1", "b2", "vocoder")


def preset_dir(model):
    """The folder of one command's presets (`model` in MODELS)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    return PRESET_DIR / model


def load(model, name):
    """The settings of preset `name` (or a .json path) for `model`, as a dict."""
    return load_preset(preset_dir(model), name)


def as_flags(settings):
    """`{"epochs": 20, "max_minutes": None}` -> `["--epochs", "20"]` (None: left to the command)."""
    flags = []
    for key, value in settings.items():
        if value is None:
            continue
        if isinstance(value, bool):
            flags.append(f"--{key}" if value else f"--no-{key}")
            continue
        flags.append(f"--{key}")
        flags += [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    return flags


@cli_main
def main(argv=None):
    p = argparse.ArgumentParser(description="Print the flags of one preset, one word per line.")
    p.add_argument("model", choices=MODELS)
    p.add_argument("preset", help="preset name (a file in separation/presets/<model>/) or a .json path")
    a = p.parse_args(argv)
    sys.stdout.write("".join(f"{w}\n" for w in as_flags(load(a.model, a.preset))))


if __name__ == "__main__":
    main()
