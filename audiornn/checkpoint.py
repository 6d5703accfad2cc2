"""The files kept beside an AudioRNN checkpoint (no Keras here: the CLIs check them first).

For a model file `models/audiornn/audiornn.keras` (the best checkpoint on
validation loss), training keeps beside it:

    audiornn.latest.keras   the latest epoch, with optimizer state (resume)
    audiornn.state.json     epochs done and best validation loss so far
    audiornn.json           the resolved configuration (every flag, the preset)
    audiornn.log.csv        loss and accuracy per epoch
    audiornn.codes.npz      the code cache of the training data
    audiornn.val_codes.npz  the code cache of --val_dir (held-out files), if given
    audiornn.eval_codes.npz the code cache of AudioRNNEval's --eval_dir, if given
    audiornn.eval.json      metrics written by AudioRNNEval.py

Every file is written atomically (temporary name, then rename); the checkpoints by
training.AtomicCheckpoint.
"""
from pathlib import Path

from dsp.audio import InputError
from dsp.presets import load_config

DEFAULT_MODEL = "models/audiornn/audiornn.keras"
DEFAULT_AUDIO = "output/audiornn/generated.wav"
# Configuration keys of the previous layout (before issue 17) and their new names.
_RENAMED_KEYS = {"datadir": "data_dir", "modelfile": "model", "audiofile": "audio"}


def model_paths(model):
    """Files kept next to the (best) model checkpoint `model` (a .keras path)."""
    m = Path(model)
    if m.suffix != ".keras":
        raise InputError(f"{m}: the model file must end in .keras")
    stem = m.parent / m.name[:-len(".keras")]
    return {"best": m, "latest": Path(f"{stem}.latest.keras"), "log": Path(f"{stem}.log.csv"),
            "state": Path(f"{stem}.state.json"), "config": Path(f"{stem}.json"),
            "cache": Path(f"{stem}.codes.npz"), "eval": Path(f"{stem}.eval.json"),
            "val_cache": Path(f"{stem}.val_codes.npz"), "eval_cache": Path(f"{stem}.eval_codes.npz")}


def read_config(model):
    """The configuration saved beside `model` by training, in the current key names.

    Configurations written by the previous layout (keys `datadir`, `modelfile`,
    `audiofile`) are read too.
    """
    path = model_paths(model)["config"]
    if not path.exists():
        raise InputError(f"{path}: model configuration not found (train first with -t)")
    config = load_config(path)
    for old, new in _RENAMED_KEYS.items():
        if old in config:
            config.setdefault(new, config.pop(old))
    return config


def data_cache(config, paths, data_dir=None):
    """Code cache for reading `data_dir` with a trained model's settings.

    The training's own cache when `data_dir` is the training folder (or None);
    for another folder (or a shipped model, whose configuration names none) a
    cache beside the model, so the training's cache is never overwritten.
    """
    same = data_dir is None or Path(data_dir).resolve() == Path(config["data_dir"]).resolve()
    if same and config.get("cache"):
        return config["cache"]
    return paths["cache"].with_suffix(".other.npz")


def check_trained(model):
    """The configuration of a trained `model`; InputError if its checkpoint or configuration is missing."""
    best = model_paths(model)["best"]
    if not best.exists():
        raise InputError(f"{best}: model file not found (train first with -t)")
    return read_config(model)
