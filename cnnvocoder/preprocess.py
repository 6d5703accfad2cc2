"""Cut training segments for the CNN vocoder.

For every recording under ``--data_dir`` (an LJSpeech-layout folder with
``metadata.csv`` and ``wavs/``, or any folder of audio files), the whole
utterance is analysed (``cnnvocoder.features``) and ``--samples_per_audio``
random segments of ``segment_frames`` = 81 frames are cut, with the matching
81 * 256 = 20736 samples (frame t centred on sample t * 256).  Each segment
is written atomically as ``<out_dir>/segments/<tag>_<k>.npz`` with arrays
``wav`` [20736], ``spec`` [81, 1025] and ``mel`` [81, 80]; the file lists
``train.txt`` / ``val.txt`` (whole recordings held out for validation: a
``--val_fraction`` of them, or every recording of ``--val_dir``) and
``config.json`` (the analysis configuration: ``--preset``, ``--sr``) go next
to them; train with the same preset.  Deterministic for a ``--seed``.

    python -m cnnvocoder.preprocess --data_dir data/cnnvocoder/synthetic \
        --out_dir data/cnnvocoder/segments --samples_per_audio 8 --num_workers 2
"""
import argparse
import os
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cnnvocoder.config import DEFAULT_PRESET, make_config, preset_config
from cnnvocoder.features import compute_features
from corpus.readers import list_wavs, read_ljspeech
from dsp.audio import InputError, atomic_output, cli_main, load_audio
from dsp.presets import save_config


def find_recordings(data_dir):
    """[(tag, path)] of an LJSpeech-layout folder or any folder of audio files."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: no such folder")
    if (data_dir / "metadata.csv").is_file() and (data_dir / "wavs").is_dir():
        items = [(tag, Path(path)) for tag, path, _ in read_ljspeech(data_dir)]
    else:
        items = [(Path(p).stem, Path(p)) for p in list_wavs(data_dir)]
    if not items:
        raise InputError(f"{data_dir}: no audio files found")
    return items


def cut_segments(x, spec, mel, n_segments, segment_frames, hop, rng):
    """Random aligned (wav, spec, mel) segments of ``segment_frames`` frames."""
    seg_len = segment_frames * hop
    if spec.shape[0] < segment_frames:  # short recording: pad the features with silence
        pad = segment_frames - spec.shape[0]
        spec = np.pad(spec, [(0, pad), (0, 0)])
        mel = np.pad(mel, [(0, pad), (0, 0)])
    if len(x) < spec.shape[0] * hop:
        x = np.pad(x, (0, spec.shape[0] * hop - len(x)))
    starts = rng.integers(0, spec.shape[0] - segment_frames + 1, size=n_segments)
    for s in starts:
        yield (x[s * hop:s * hop + seg_len], spec[s:s + segment_frames],
               mel[s:s + segment_frames])


def process_one(item, config, out_dir, n_segments, seed):
    """Analyse one recording and write its segments; return their file names."""
    index, (tag, path) = item
    x, _ = load_audio(path, sr=config["sr"], min_samples=config["hop_length"])
    spec, mel = compute_features(x, config)
    rng = np.random.default_rng([seed, index])
    names = []
    for k, (w, s, m) in enumerate(cut_segments(x, spec, mel, n_segments,
                                               config["segment_frames"],
                                               config["hop_length"], rng)):
        name = f"{tag}_{k:03d}.npz"
        with atomic_output(out_dir / "segments" / name) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, wav=w.astype(np.float32), spec=s, mel=m)
        names.append(name)
    return tag, names


def write_list(path, names):
    with atomic_output(path) as tmp:
        Path(tmp).write_text("".join(f"{n}\n" for n in names))


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnnvocoder.preprocess",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data_dir", required=True, help="LJSpeech-layout folder or folder of wavs")
    p.add_argument("--out_dir", required=True, help="output folder for segments and lists")
    p.add_argument("--samples_per_audio", type=int, default=8, help="segments per recording")
    p.add_argument("--num_workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    p.add_argument("--val_fraction", type=float, default=0.05,
                   help="fraction of recordings held out for validation (at least one)")
    p.add_argument("--val_dir", default=None,
                   help="validation recordings (a folder, e.g. of held-out speakers or files); "
                        "replaces --val_fraction")
    p.add_argument("--preset", default=DEFAULT_PRESET,
                   help="analysis settings: a preset name (cnnvocoder/presets/NAME.json) or a "
                        ".json file; use the same one for training")
    p.add_argument("--sr", type=int, default=None,
                   help="sample rate (audio is resampled; default: the preset's)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


@cli_main
def main(argv=None):
    args = parse_args(argv)
    if args.samples_per_audio < 1:
        raise InputError("--samples_per_audio must be >= 1")
    config = preset_config(args.preset)
    if args.sr:
        config = make_config(**{**config, "sr": args.sr})
    items = find_recordings(args.data_dir)
    val_items = find_recordings(args.val_dir) if args.val_dir else []
    clash = {tag for tag, _ in items} & {tag for tag, _ in val_items}
    if clash:
        raise InputError(f"{args.val_dir}: {len(clash)} recordings also in {args.data_dir} "
                         f"(e.g. {sorted(clash)[0]}); validation must be held out")
    items = items + val_items
    out_dir = Path(args.out_dir)
    (out_dir / "segments").mkdir(parents=True, exist_ok=True)
    work = partial(process_one, config=config, out_dir=out_dir,
                   n_segments=args.samples_per_audio, seed=args.seed)
    jobs = list(enumerate(items))
    if args.num_workers > 1:
        with Pool(args.num_workers) as pool:
            results = list(tqdm(pool.imap(work, jobs), total=len(jobs), desc="preprocess"))
    else:
        results = [work(j) for j in tqdm(jobs, desc="preprocess")]
    if val_items:
        val_ids = set(range(len(items) - len(val_items), len(items)))
    else:
        rng = np.random.default_rng(args.seed)
        order = rng.permutation(len(results))
        n_val = max(1, int(round(args.val_fraction * len(results)))) if len(results) > 1 else 0
        val_ids = set(order[:n_val].tolist())
    train = [n for i, (_, names) in enumerate(results) if i not in val_ids for n in names]
    val = [n for i, (_, names) in enumerate(results) if i in val_ids for n in names]
    write_list(out_dir / "train.txt", train)
    write_list(out_dir / "val.txt", val or train[:1])
    save_config(out_dir / "config.json", config)
    print(f"{len(train)} training and {len(val)} validation segments of "
          f"{config['segment_frames']} frames from {len(results)} recordings -> {out_dir}")


if __name__ == "__main__":
    main()
