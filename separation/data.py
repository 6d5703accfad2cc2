"""Training data for the encoders: features of the saved mixtures, random crops.

Features of every mixture in a split are computed once (whole utterances, kept
in memory: `[frames, bins]` per utterance); training batches are 64-frame crops
cut at random offsets on the fly, never a pre-cut copy of the data.
"""
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from dsp.audio import InputError, load_audio
from separation import features as F
from separation.blocks import cut_blocks
from separation.mixing import read_list


def load_split(data_dir, split, kind, progress=True, max_items=None):
    """Features of one split.

    Args:
        data_dir: output folder of stage 01.
        split: "train", "val" or "test".
        kind: "proposed" (target = clean mel) or "b1" (target = clean linear spectrum).
    Returns:
        list of dicts {"id", "linear" [T, n_linear], "mel" [T, n_mels], "target" [T, n_mels|n_linear]}, at
        the data's feature settings (``data_dir/features.json``, `separation.features.load_settings`).
    """
    data_dir = Path(data_dir)
    fs = F.load_settings(data_dir)
    rows = read_list(data_dir / f"{split}.csv")
    if max_items:
        rows = rows[:max_items]
    if not rows:
        raise InputError(f"{data_dir / (split + '.csv')}: no mixtures listed")
    items = []
    for r in tqdm(rows, desc=f"features {split}", unit="utt", disable=not progress):
        mix, _ = load_audio(data_dir / split / "mix" / f"{r['id']}.wav", sr=fs.sample_rate)
        clean, _ = load_audio(data_dir / split / "clean" / f"{r['id']}.wav", sr=fs.sample_rate)
        if len(mix) != len(clean):
            raise InputError(f"{data_dir / split / 'clean' / r['id']}.wav: length {len(clean)} "
                             f"differs from its mixture ({len(mix)})")
        feats = fs.mixture(mix)
        target = fs.mel(clean) if kind == "proposed" else fs.linear(clean)
        items.append({"id": r["id"], **feats, "target": target})
    return items


def crop_frames(a, start, frames):
    """`a[start:start + frames]` along the first axis, the last frame repeated where `a` is too short."""
    seg = a[start:start + frames]
    if len(seg) < frames:
        seg = np.pad(seg, [(0, frames - len(seg))] + [(0, 0)] * (a.ndim - 1), mode="edge")
    return seg


class SeededBatches(keras.utils.PyDataset):
    """Base for datasets of random batches that repeat exactly across runs.

    Batch i of epoch e draws from rng([seed, e, i]), so a resumed or repeated
    run sees the same data whatever the worker order. ``epoch`` is set by
    `dsp.resume.EpochSync` at the start of every epoch of ``fit``, never counted
    from ``on_epoch_end`` calls (Keras makes extra ones, more under a strategy).
    """

    def __init__(self, steps, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.steps, self.seed, self.epoch = steps, seed, 0

    def __len__(self):
        return self.steps

    def batch_rng(self, idx):
        return np.random.default_rng([self.seed, self.epoch, idx])


class CropDataset(SeededBatches):
    """Random `frames`-long crops of (mixture features, target), one batch at a time.

    Args:
        items: output of `load_split`.
        frames: crop length (64).
        batch_size: crops per batch.
        steps: batches per epoch.
        seed: base seed; batch i of epoch e uses rng([seed, e, i]) so runs repeat.
    """

    def __init__(self, items, frames=64, batch_size=16, steps=50, seed=0, **kwargs):
        super().__init__(steps, seed, **kwargs)
        self.items, self.frames, self.batch_size = items, frames, batch_size

    def __getitem__(self, idx):
        rng = self.batch_rng(idx)
        lin, mel, tgt = [], [], []
        for k in rng.integers(len(self.items), size=self.batch_size):
            it = self.items[k]
            T = len(it["mel"])
            s = int(rng.integers(max(1, T - self.frames + 1)))
            lin.append(crop_frames(it["linear"], s, self.frames))
            mel.append(crop_frames(it["mel"], s, self.frames))
            tgt.append(crop_frames(it["target"], s, self.frames))
        return {"linear": np.stack(lin), "mel": np.stack(mel)}, np.stack(tgt)


def validation_arrays(items, frames=64):
    """All non-overlapping blocks (last one end-aligned) of the validation utterances."""
    lin, mel, tgt = [], [], []
    for it in items:
        lin.append(cut_blocks(it["linear"], frames)[0])
        mel.append(cut_blocks(it["mel"], frames)[0])
        tgt.append(cut_blocks(it["target"], frames)[0])
    return {"linear": np.concatenate(lin), "mel": np.concatenate(mel)}, np.concatenate(tgt)
