"""Resumable training: a checkpoint that carries its own resume state, and the log trimmed to it.

A resumable trainer writes after every epoch a checkpoint (``.keras``: the model
with its optimizer; ``.weights.h5``: weights and optimizer state) and a small JSON
state (epochs done, best score, ...). Two files cannot be replaced at once: a run
killed between the two renames would resume with the weights of one epoch and the
counter of another. `save_checkpoint` therefore also stores the state *inside* the
checkpoint (a ``resume_state.json`` member of the ``.keras`` zip, or a root attribute
of the ``.h5`` file; Keras ignores both) before the one atomic rename, and
`checkpoint_state` reads it back, so the weights and the counter always belong
together. The JSON beside the checkpoint is still written, for people and for
readers of older checkpoints (which have no stored state: `checkpoint_state` is None).
The stored state also holds the position of the model's random streams (the
``SeedGenerator`` of a dropout layer or of a noise input; Keras saves none of them):
`restore_seed_states` puts them back after loading.

A resumed run restarts the interrupted epoch from its beginning; `trim_csv_log`
drops the rows a killed run may have logged for epochs the checkpoint does not hold,
so the log lists every epoch once (`resumed_csv_logger`: that, and Keras' CSVLogger
appending to it). Trainers pass ``shuffle=False`` to ``fit``: their
datasets shuffle by (seed, epoch, index), while Keras would shuffle a PyDataset's
batch order with Python's global RNG, whose state a resumed process does not have.
The epoch of those datasets is set by `EpochSync` from the number ``fit`` passes,
never counted from ``on_epoch_end`` calls (Keras makes extra ones).
"""
import csv
import json
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np

from dsp.audio import atomic_output, write_json

STATE_MEMBER = "resume_state.json"  # member of a .keras zip
STATE_ATTR = "resume_state"  # root attribute of a .weights.h5 file
SEED_KEY = "seed_states"  # in the stored state: the model's SeedGenerator states


def _seed_variables(model):
    """The state variables of the model's SeedGenerators: its variables that are no weights."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def seed_states(model):
    """The states of ``model``'s SeedGenerators (dropout, noise inputs) as lists of ints."""
    return [np.asarray(v.numpy()).tolist() for v in _seed_variables(model)]


def restore_seed_states(model, state):
    """Put back the SeedGenerator states stored in ``state`` (`checkpoint_state`); True if done.

    Nothing happens (False) when ``state`` holds none (an older checkpoint: the streams
    restart from their seeds) or a different number of them (another model).
    """
    saved = (state or {}).get(SEED_KEY)
    variables = _seed_variables(model)
    if saved is None or len(saved) != len(variables):
        return False
    for v, value in zip(variables, saved):
        v.assign(np.asarray(value, dtype=v.dtype))
    return True


def save_checkpoint(model, path, state=None, state_path=None):
    """Save ``model`` to ``path`` with ``state`` stored inside, atomically; ``state_path`` gets a copy.

    Args:
        model: a Keras model (with its optimizer, if compiled).
        path: ``.keras`` (``model.save``) or ``.weights.h5`` (``model.save_weights``).
        state: JSON-serialisable dict (e.g. ``{"epoch": 3}``), or None; the model's
            SeedGenerator states, if it has any, are added to it (``SEED_KEY``).
        state_path: optional JSON file written (atomically) after the checkpoint.

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    weights_only = path.name.endswith(".weights.h5")
    seeds = seed_states(model) if state is not None else []
    if seeds:
        state = {**state, SEED_KEY: seeds}
    text = None if state is None else json.dumps(state, default=str)
    with atomic_output(path) as tmp:
        if weights_only:
            model.save_weights(tmp)
            if text is not None:
                with h5py.File(tmp, "a") as f:
                    f.attrs[STATE_ATTR] = text
        else:
            model.save(tmp)
            if text is not None:
                with zipfile.ZipFile(tmp, "a") as z:
                    z.writestr(STATE_MEMBER, text)
    if state_path is not None and state is not None:
        write_json(state_path, state)
    return path


def checkpoint_state(path):
    """The state stored in checkpoint ``path`` by `save_checkpoint`, or None.

    None when the file is missing, unreadable or has no stored state (a checkpoint
    written before the state was stored inside: read the JSON beside it instead).
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.name.endswith(".h5"):
            with h5py.File(path, "r") as f:
                text = f.attrs.get(STATE_ATTR)
        else:
            with zipfile.ZipFile(path) as z:
                text = z.read(STATE_MEMBER) if STATE_MEMBER in z.namelist() else None
        if text is None:
            return None
        return json.loads(text.decode() if isinstance(text, bytes) else str(text))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):  # ValueError: JSON or UTF-8
        return None


def resumed_csv_logger(path, epochs_done):
    """Keras' CSVLogger for a run starting after ``epochs_done`` epochs: a new log when 0, else
    appending to the log trimmed to those epochs (`trim_csv_log`)."""
    if epochs_done:
        trim_csv_log(path, epochs_done)
    return keras.callbacks.CSVLogger(str(path), append=epochs_done > 0)


def trim_csv_log(path, epochs_done):
    """Keep the header and the rows of epochs ``< epochs_done`` (0-based, Keras' CSVLogger) of ``path``.

    Rows of later epochs are those of an epoch the resumed run repeats. Nothing
    happens when the file is missing or has no ``epoch`` column.
    """
    path = Path(path)
    if not path.is_file():
        return
    with open(path, newline="") as f:  # the rows as Keras wrote them (\r\n)
        lines = f.read().splitlines(keepends=True)
    header = next(csv.reader(lines[:1]), [])
    if "epoch" not in header:
        return
    col = header.index("epoch")

    def done(line):
        row = next(csv.reader([line]), [])
        return len(row) > col and row[col].strip().isdigit() and int(row[col]) < epochs_done

    keep = lines[:1] + [line for line in lines[1:] if done(line)]
    if len(keep) < len(lines):
        with atomic_output(path) as tmp:
            Path(tmp).write_text("".join(keep), newline="")


class EpochSync(keras.callbacks.Callback):
    """Tells datasets which epoch is starting, so batch ``i`` of epoch ``e`` depends on (seed, e, i) only.

    Keras calls a PyDataset's ``on_epoch_end`` a varying number of times around the start of
    ``fit`` (once when it resets its epoch iterator, again when a `tf.distribute` strategy
    peeks at a first batch), so a dataset that counts those calls is one epoch ahead in one
    setting and not in another. The epoch number ``fit`` passes (``initial_epoch`` after a
    resume) is the truth.

    Args:
        *datasets: objects with ``set_epoch(epoch)`` or an ``epoch`` attribute.
    """

    def __init__(self, *datasets):
        super().__init__()
        self.datasets = datasets

    def on_epoch_begin(self, epoch, logs=None):
        for dataset in self.datasets:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)
            else:
                dataset.epoch = epoch
