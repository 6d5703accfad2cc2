"""Dynamic mixing: training mixtures made afresh for every batch from the training speech and noises.

The saved training mixtures pair each utterance with two or three noises once and for all; an
encoder trained on them learns those pairs (on the 16 kHz recipe the training loss falls to half the
validation loss, whose noises are other recordings). `DynamicMixtures` draws a new pair for every
crop: a random window of a training utterance, a training noise started at a random point (tiled
circularly), mixed by the split's rule (`separation.mixing.mix`: the paper's peak rule, or an SNR).
Validation stays on the saved mixtures, so scores remain comparable across runs.
"""
import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dsp.audio import InputError, load_audio
from separation import mixing
from separation.data import SeededBatches, crop_frames


def split_rule_snr(data_dir):
    """The SNR in dB of the split's mixing rule (``split.json``), None for the paper's peak rule."""
    path = Path(data_dir) / "split.json"
    if not path.is_file():
        raise InputError(f"{path}: not found (the mixing rule of --data_dir; run separation/01_make_mixtures.sh)")
    rule = str(json.loads(path.read_text()).get("rule", "paper"))
    if rule == "paper":
        return None
    try:
        return float(rule.split()[1])
    except (IndexError, ValueError):
        raise InputError(f"{path}: unknown mixing rule {rule!r}") from None


def load_training_sources(data_dir, sample_rate, progress=True):
    """The distinct speech and noise recordings of the saved training mixtures (``train.csv``).

    Returns:
        (speech, noises, folders): two lists of 1-D float32 arrays `[samples]` at `sample_rate`, and the
        folder (speaker, corpus) of each utterance, for `DynamicMixtures(..., groups=folders)`.
    """
    rows = mixing.read_list(Path(data_dir) / "train.csv")
    if not rows:
        raise InputError(f"{Path(data_dir) / 'train.csv'}: no mixtures listed")
    speech_paths = list(dict.fromkeys(r["speech"] for r in rows))
    noise_paths = list(dict.fromkeys(r["noise"] for r in rows))
    speech = [load_audio(p, sr=sample_rate)[0] for p in tqdm(speech_paths, desc="training speech", unit="utt",
                                                              disable=not progress)]
    noises = [load_audio(p, sr=sample_rate, allow_silence=True)[0] for p in noise_paths]
    noises = [n for n in noises if np.any(n)]
    if not noises:
        raise InputError(f"{Path(data_dir) / 'train.csv'}: every training noise is silent")
    return speech, noises, [str(Path(p).parent) for p in speech_paths]


def add_mixing_flags(parser):
    """--mixing, --balance_speech, --mix_seconds (the trainers' choice of training data)."""
    parser.add_argument("--mixing", choices=("saved", "dynamic"), default="saved",
                        help="training examples from the saved training mixtures, or from mixtures made afresh "
                             "for every example out of their speech and noises (separation.dynamic_mixing); "
                             "validation always on the saved mixtures")
    parser.add_argument("--balance_speech", action=argparse.BooleanOptionalAction, default=False,
                        help="--mixing dynamic: draw every folder of training speech (a speaker, a corpus) equally "
                             "often")
    parser.add_argument("--mix_seconds", type=float, default=4.0,
                        help="--mixing dynamic: longest speech window mixed (as make_mixtures' --max_seconds)")


def dynamic_mixtures(args, features, **kwargs):
    """The `DynamicMixtures` of a trainer's resolved flags (--data_dir, --seed and the `add_mixing_flags`);
    `kwargs` go to its constructor (kind, frames, batch_size, steps)."""
    speech, noises, folders = load_training_sources(args.data_dir, features.sample_rate)
    return DynamicMixtures(speech, noises, features, seed=args.seed, seconds=args.mix_seconds,
                           snr_db=split_rule_snr(args.data_dir), groups=folders if args.balance_speech else None,
                           **kwargs)


class DynamicMixtures(SeededBatches):
    """Random `frames`-long crops of (mixture features, target) from mixtures made for each crop.

    Each crop: a window of at most `seconds` of a random utterance, mixed with a random noise
    rotated by a random number of samples, by `mixing.mix(speech, noise, snr_db)`; features of the
    whole window (as `separation.data.load_split` computes them for a saved mixture), then a random
    crop. Batch i of epoch e draws from rng([seed, e, i]), so runs repeat exactly.

    Args:
        speech: list of 1-D arrays `[samples]`, the training utterances at ``features.sample_rate``.
        noises: list of 1-D arrays `[samples]`, the training noises at the same rate.
        features: `separation.features.FeatureSettings` of the data.
        kind: "proposed" (target = clean mel `[frames, n_mels]`) or "b1" (clean linear `[frames, n_linear]`).
        frames: crop length (64).
        batch_size: crops per batch.
        steps: batches per epoch.
        seed: base seed.
        seconds: longest speech window mixed (4.0, as the saved mixtures' --max_seconds).
        snr_db: None for the paper's peak rule, else the speech-to-noise ratio (`split_rule_snr`).
        groups: None (every utterance equally often) or a label per utterance (its folder: a speaker or a
            corpus): every label equally often, then an utterance of it. With 1570 telephone prompts of three
            speakers and 20 LJSpeech clips, uniform draws would hardly ever pick the speaker of the test set.
    """

    def __init__(self, speech, noises, features, kind="proposed", frames=64, batch_size=16, steps=50, seed=0,
                 seconds=4.0, snr_db=None, groups=None, **kwargs):
        super().__init__(steps, seed, **kwargs)
        groups = [0] * len(speech) if groups is None else list(groups)
        if len(groups) != len(speech):
            raise ValueError(f"{len(groups)} group labels for {len(speech)} utterances")
        kept = [(np.asarray(s, np.float32), g) for s, g in zip(speech, groups) if np.any(s)]
        self.speech = [s for s, _ in kept]
        labels = list(dict.fromkeys(g for _, g in kept))
        self.groups = [[i for i, (_, g) in enumerate(kept) if g == label] for label in labels]
        self.noises = [np.asarray(n, np.float32) for n in noises if np.any(n)]
        if not self.speech or not self.noises:
            raise InputError("dynamic mixing needs at least one non-silent utterance and one non-silent noise")
        self.features, self.kind, self.frames, self.batch_size = features, kind, frames, batch_size
        self.window, self.snr_db = int(seconds * features.sample_rate), snr_db

    def _speech_window(self, rng):
        for _ in range(100):  # a window of a long utterance may fall in a pause: draw again
            group = self.groups[int(rng.integers(len(self.groups)))]
            x = self.speech[group[int(rng.integers(len(group)))]]
            start = int(rng.integers(max(1, len(x) - self.window + 1)))
            x = x[start:start + self.window]
            if np.max(np.abs(x)) > 1e-4:
                return x
        raise InputError("dynamic mixing: 100 speech windows in a row were silent")

    def mixture(self, rng):
        """One new mixture: (mixture, clean speech), both `[samples]` float32, mixture == speech + noise."""
        x = self._speech_window(rng)
        noise = self.noises[int(rng.integers(len(self.noises)))]
        noise = np.roll(noise, -int(rng.integers(len(noise))))
        mix, clean, _ = mixing.mix(x, noise, self.snr_db)
        return mix, clean

    def example(self, rng):
        """One crop: ({"linear": [frames, n_linear], "mel": [frames, n_mels]}, target [frames, bins])."""
        mix, clean = self.mixture(rng)
        feats = self.features.mixture(mix)
        target = self.features.mel(clean) if self.kind == "proposed" else self.features.linear(clean)
        s = int(rng.integers(max(1, len(target) - self.frames + 1)))
        return ({k: crop_frames(v, s, self.frames) for k, v in feats.items()}, crop_frames(target, s, self.frames))

    def __getitem__(self, idx):
        rng = self.batch_rng(idx)
        xs, ys = zip(*(self.example(rng) for _ in range(self.batch_size)))
        return {k: np.stack([x[k] for x in xs]) for k in ("linear", "mel")}, np.stack(ys)
