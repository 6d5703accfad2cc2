"""Presets as files: named JSON settings beside each pipeline, and saved configurations.

Every trainer of the toolkit takes ``--preset NAME`` (a file ``NAME.json`` in the
pipeline's ``presets/`` folder) or ``--preset path/to/my.json``. A preset sets the
defaults of the command's own flags, so a flag given on the command line always
wins, and the resolved configuration (every flag's final value) is saved beside
each checkpoint with `save_config`.

Usage::

    parser = argparse.ArgumentParser(...)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parse_args(parser, PRESET_DIR, argv, default="quick")
    save_config(model_dir / "config.json", args)
"""
import argparse
import copy
import json
from pathlib import Path

from dsp.audio import InputError, write_json


def preset_names(preset_dir):
    """Names of the presets in `preset_dir` (the `*.json` stems), sorted."""
    return sorted(p.stem for p in Path(preset_dir).glob("*.json"))


def load_preset(preset_dir, name):
    """The settings of a preset as a dict.

    Args:
        preset_dir: folder of `NAME.json` files.
        name: a preset name in that folder, or the path of a JSON file.
    Raises:
        InputError: unknown name, unreadable file or not a JSON object.
    """
    path = Path(name)
    if path.suffix != ".json":
        path = Path(preset_dir) / f"{name}.json"
        if not path.is_file():
            raise InputError(f"{path}: no preset named {name!r} "
                             f"(known: {', '.join(preset_names(preset_dir)) or 'none'})")
    if not path.is_file():
        raise InputError(f"{path}: preset file not found")
    try:
        settings = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON preset ({exc})") from None
    if not isinstance(settings, dict):
        raise InputError(f"{path}: a preset must be a JSON object of flag names to values")
    settings.pop("_comment", None)
    return settings


def parse_args(parser, preset_dir, argv=None, default="default"):
    """Parse `argv` with a `--preset` flag whose file sets the parser's defaults.

    Args:
        parser: argparse.ArgumentParser without a --preset flag of its own.
        preset_dir: the pipeline's presets folder.
        argv: list of str or None (sys.argv[1:]).
        default: the preset used when --preset is not given.
    Returns:
        argparse.Namespace with every flag resolved and `preset` set.
    Raises:
        InputError: the preset names a setting the command has no flag for.
    """
    names = preset_names(preset_dir)
    # read --preset alone first (no -h: --help must show the preset's values as defaults)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--preset", default=default)
    first, _ = pre.parse_known_args(argv)
    parser.add_argument("--preset", default=default,
                        help=f"settings file: one of {', '.join(names)} (in {preset_dir}) "
                             f"or a path to a .json file; flags given here override it "
                             f"(default: {default})")
    settings = load_preset(preset_dir, first.preset)
    known = {a.dest for a in parser._actions}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InputError(f"preset {first.preset}: unknown setting(s) {', '.join(unknown)} "
                         f"(not flags of {parser.prog})")
    parser.set_defaults(**settings)
    return parser.parse_args(argv)


def given_flags(parser, argv=None):
    """Names (dests) of the options actually given in `argv`, not filled in by defaults.

    Args:
        parser: an argparse.ArgumentParser (not modified; a --preset flag is accepted too).
    """
    probe = copy.deepcopy(parser)
    probe._defaults = {}
    for action in probe._actions:
        action.default = argparse.SUPPRESS
        action.required = False
    if "preset" not in {a.dest for a in probe._actions}:
        probe.add_argument("--preset", default=argparse.SUPPRESS)
    return set(vars(probe.parse_known_args(argv)[0]))


def to_jsonable(config):
    """A Namespace, dataclass-like object or dict as a JSON-ready dict (Paths as str)."""
    if isinstance(config, argparse.Namespace):
        config = vars(config)
    out = {}
    for key, value in dict(config).items():
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def save_config(path, config):
    """Write the resolved configuration as JSON, atomically (temporary name, then rename)."""
    write_json(path, to_jsonable(config), sort_keys=True)


def load_config(path):
    """Read a configuration written by `save_config` (InputError naming the file)."""
    path = Path(path)
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: configuration not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable configuration ({exc})") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: configuration is not a JSON object")
    return config
