"""Stage 3: train baseline B2 (denoising WaveNet) on the stage-1 mixtures.

    python -m separation.train_b2 --data_dir data/separation --model_dir models/separation \
        [--preset realdata] [--epochs 20] [--no-resume]

Settings come from the preset `separation/presets/b2/NAME.json` (default, realdata,
paper); a flag given here overrides it. Random windows of `target_field +
receptive_field - 1` mixture samples (zero padding at the utterance edges), targets
the centred `target_field` samples of the clean speech and of the noise (= mixture -
speech). Loss L1(speech) + L1(noise) (`--loss mse`: squared errors), Adam (x0.98 per
epoch). Validation and the checkpoint use an exponential moving average of the
weights (`--ema`, momentum 0.99; 0 = off): on the real-data test mixtures it makes
STOI rise steadily with the steps instead of swinging by +-0.01 from one checkpoint
to the next (measured; README). The best model on validation windows is kept as
`<model_dir>/b2.keras`, with `b2.json` beside it (every resolved flag, the network
sizes under "config", epoch and score). ``--mixing dynamic``: windows of mixtures
made afresh for every window (separation.dynamic_mixing).
"""
import argparse
from pathlib import Path

import keras
import numpy as np

from dsp.audio import InputError, cli_main, load_audio
from dsp.presets import parse_args
from separation import settings
from separation.data import SeededBatches
from separation.dynamic_mixing import add_mixing_flags, dynamic_mixtures
from separation.denoising_wavenet import LOSSES, B2Config, build_denoising_wavenet, compile_b2
from separation.features import claim_settings, load_settings
from separation.mixing import read_list
from separation.training import add_training_flags, fit_checkpointed, run_distributed


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    add_training_flags(p, "b2")
    add_mixing_flags(p)
    p.add_argument("--loss", choices=LOSSES, default="mae",
                   help="mae: the paper's L1 on speech and noise; mse: squared errors, closer to SI-SDR "
                        "(a checkpoint's best score is only compared under the same loss)")
    p.add_argument("--ema", type=float, default=0.99,
                   help="momentum of the weight average used for validation and checkpoints (0 = off)")
    net = p.add_argument_group("network sizes (B2Config; defaults: the preset)")
    for field, value in B2Config().to_dict().items():
        if isinstance(value, list):
            net.add_argument(f"--{field}", type=int, nargs=len(value), default=value)
        else:
            net.add_argument(f"--{field}", type=type(value), default=value)
    return p


def parse(argv=None):
    """Resolve the flags: the preset (separation/presets/b2/), then the command line."""
    return parse_args(build_parser(), settings.preset_dir("b2"), argv, default="default")


def load_pairs(data_dir, split, max_items=None):
    """[(mixture, speech)] float32 waveforms of a split, at the data's rate (``features.json``)."""
    data_dir = Path(data_dir)
    rows = read_list(data_dir / f"{split}.csv")[:max_items]
    if not rows:
        raise InputError(f"{data_dir / (split + '.csv')}: no mixtures listed")
    out = []
    sr = load_settings(data_dir).sample_rate
    for r in rows:
        m, _ = load_audio(data_dir / split / "mix" / f"{r['id']}.wav", sr=sr)
        s, _ = load_audio(data_dir / split / "clean" / f"{r['id']}.wav", sr=sr)
        out.append((m, s[: len(m)]))
    return out


def _window(pair, cfg, start):
    m, s = pair
    half = (cfg.model_field - 1) // 2
    mp = np.pad(m, (half + cfg.target_field, cfg.model_field + cfg.target_field))
    sp = np.pad(s, (cfg.target_field, cfg.target_field + cfg.model_field))
    x = mp[start + cfg.target_field - 0: start + cfg.target_field + cfg.input_length]
    y = sp[start + cfg.target_field: start + 2 * cfg.target_field]
    c = mp[start + cfg.target_field + half: start + cfg.target_field + half + cfg.target_field]
    return x, y, c - y


def _stacked(pairs_and_starts, cfg):
    """B2's batch of `_window`s: (mixtures [n, input_length], {"speech", "noise": [n, target_field]})."""
    xs, ys, ns = zip(*(_window(pair, cfg, int(start)) for pair, start in pairs_and_starts))
    return np.stack(xs), {"speech": np.stack(ys), "noise": np.stack(ns)}


def _random_start(pair, cfg, rng):
    return int(rng.integers(max(1, len(pair[0]) - cfg.target_field // 2)))


class DynamicWindows(SeededBatches):
    """Random training windows of mixtures made afresh for every window (`DynamicMixtures.mixture`); batch i
    of epoch e uses rng([seed, e, i])."""

    def __init__(self, mixtures, cfg, batch_size, steps, seed=0, **kw):
        super().__init__(steps, seed, **kw)
        self.mixtures, self.cfg, self.bs = mixtures, cfg, batch_size

    def __getitem__(self, idx):
        rng = self.batch_rng(idx)

        def drawn():   # lazily: the mixture, then its start, window by window
            for _ in range(self.bs):
                pair = self.mixtures.mixture(rng)
                yield pair, _random_start(pair, self.cfg, rng)
        return _stacked(drawn(), self.cfg)


class WindowDataset(SeededBatches):
    """Random training windows; batch i of epoch e uses rng([seed, e, i])."""

    def __init__(self, pairs, cfg, batch_size, steps, seed=0, **kw):
        super().__init__(steps, seed, **kw)
        self.pairs, self.cfg, self.bs = pairs, cfg, batch_size

    def __getitem__(self, idx):
        rng = self.batch_rng(idx)
        picks = rng.integers(len(self.pairs), size=self.bs)   # all pairs first, then the starts (as before)
        return _stacked(((self.pairs[k], _random_start(self.pairs[k], self.cfg, rng)) for k in picks), self.cfg)


def validation_windows(pairs, cfg, per_utt=16):
    return _stacked(((p, start) for p in pairs
                     for start in np.linspace(0, max(0, len(p[0]) - cfg.target_field), per_utt).astype(int)), cfg)


def train(args, verbose=2):
    """Train B2 with the resolved flags `args` (from `parse`); returns (model, history).

    With ``--distribute`` the whole run happens in the strategy's scope (`run_distributed`).
    """
    return run_distributed(args, _train, verbose)


def _train(args, verbose):
    keras.utils.set_random_seed(args.seed)
    cfg = B2Config.from_dict(vars(args))
    fs = load_settings(args.data_dir)
    claim_settings(args.model_dir, fs)
    if args.mixing == "dynamic":
        ds = DynamicWindows(dynamic_mixtures(args, fs), cfg, args.batch_size, args.steps_per_epoch, args.seed)
    else:
        ds = WindowDataset(load_pairs(args.data_dir, "train"), cfg, args.batch_size, args.steps_per_epoch, args.seed)
    val_pairs = load_pairs(args.data_dir, "val")
    val = validation_windows(val_pairs, cfg)
    model = compile_b2(build_denoising_wavenet(cfg), args.lr, ema_momentum=args.ema,
                       loss=args.loss)
    hist = fit_checkpointed(model, "b2", args, cfg.to_dict(), ds, val, swap_ema=bool(args.ema), verbose=verbose)
    return model, hist


@cli_main
def main(argv=None):
    a = parse(argv)
    _, hist = train(a)
    v = hist.history.get("val_loss", [float("nan")])
    print(f"B2: best val_loss {min(v):.4f} -> {Path(a.model_dir) / 'b2.keras'}")


if __name__ == "__main__":
    main()
