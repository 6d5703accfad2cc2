"""Whole-utterance inference with fixed-length blocks.

The encoder sees blocks of `block` frames (64). An utterance of T frames is cut
at 0, block, 2*block, ...; the last block is aligned to the end (starts at
T - block), and stitching takes from it only the frames not covered yet, so
every output frame comes from exactly one block. Utterances shorter than one
block are padded at the end (with the edge frame) and trimmed afterwards.
"""
import numpy as np


def block_starts(n_frames, block):
    """Start frames of the blocks covering `n_frames` (last block end-aligned)."""
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    if n_frames <= block:
        return [0]
    starts = list(range(0, n_frames - block + 1, block))
    if starts[-1] + block < n_frames:
        starts.append(n_frames - block)
    return starts


def stitch_plan(n_frames, block):
    """[(start, src_from, src_to)]: output frames start+src_from .. start+src_to-1
    are taken from rows src_from .. src_to-1 of the block starting at `start`."""
    plan, covered = [], 0
    for s in block_starts(n_frames, block):
        lo = covered - s
        hi = min(block, n_frames - s)
        plan.append((s, lo, hi))
        covered = s + hi
    return plan


def cut_blocks(features, block):
    """`features` [T, ...] -> ([n_blocks, block, ...], T). Short inputs are edge-padded."""
    features = np.asarray(features)
    T = features.shape[0]
    if T < block:
        pad = [(0, block - T)] + [(0, 0)] * (features.ndim - 1)
        features = np.pad(features, pad, mode="edge")
    return np.stack([features[s:s + block] for s in block_starts(max(T, block), block)]), T


def stitch(blocks, n_frames):
    """Inverse of `cut_blocks` for per-frame outputs: [n_blocks, block, ...] -> [n_frames, ...]."""
    blocks = np.asarray(blocks)
    block = blocks.shape[1]
    total = max(n_frames, block)
    out = np.empty((total,) + blocks.shape[2:], blocks.dtype)
    for b, (s, lo, hi) in enumerate(stitch_plan(total, block)):
        out[s + lo:s + hi] = blocks[b, lo:hi]
    return out[:n_frames]


def predict_utterance(model, features, block=64, batch_size=16):
    """Run a block model on a whole utterance.

    Args:
        model: keras model taking {"linear": [B, block, 512], "mel": [B, block, 80]}.
        features: dict of arrays `[T, bins]` (same T).
        block: frames per block (the model's input length).
    Returns:
        `[T, out_bins]` float32 estimate.
    """
    cut = {k: cut_blocks(v, block) for k, v in features.items()}
    T = next(iter(cut.values()))[1]
    inputs = {k: v[0].astype(np.float32) for k, v in cut.items()}
    y = model.predict(inputs, batch_size=batch_size, verbose=0)
    return stitch(np.asarray(y, np.float32), T)
