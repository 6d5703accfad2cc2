"""Stage 01: split speech and noise reproducibly and write the mixtures.

    python -m separation.make_mixtures --speech_dir data/synthetic22k \
        --noise_dir data/noises22k --out_dir data/separation --categories all [--preset realdata]

Writes, under --out_dir:
    split.json                      seed, mixing rule, speech tags and noise files per split
    features.json                   the rate and features every later stage uses (--features)
    train.csv / val.csv / test.csv  the saved lists of (id, speech, noise, snr_db)
    <split>/{mix,clean,noise}/<id>.wav  float wavs at its rate (mix == clean + noise)
Speech: LJSpeech layout, split train/val/test (default 80/10/10) with --seed; or three lists of
folders given as the split (--train_speech, --val_speech, --test_speech).
Noise: ESC-50 layout (restricted to the paper's 20 environmental classes unless
--categories all) or a plain folder of clips; clips with less than
--min_noise_seconds of sound dropped; split 90/10 into train/test noises
(validation mixtures use training noises unless --noise_val_fraction keeps some apart). The preset
(`separation/presets/mixtures/NAME.json`: default, realdata, paper) sets the
defaults of these flags; a flag given here overrides it.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from corpus.readers import ESC50_ENVIRONMENTAL_CLASSES, active_seconds, list_wavs, read_esc50, read_ljspeech
from dsp.audio import InputError, atomic_output, cli_main, load_audio, write_json
from dsp.presets import parse_args
from separation import mixing, settings
from separation.features import PAPER, save_settings, settings_of


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--speech_dir", help="LJSpeech-layout folder (metadata.csv + wavs/), split by --speech_split")
    for split in ("train", "val", "test"):
        p.add_argument(f"--{split}_speech", nargs="+", metavar="DIR",
                       help=f"instead of --speech_dir: folders of {split} speech (any audio files, any layout; "
                            "all three splits given, e.g. by speaker or by file)")
    p.add_argument("--noise_dir", required=True, action="append",
                   help="ESC-50-layout folder (audio/ + meta/esc50.csv) or a plain folder of noise "
                        "clips; repeat to combine several")
    p.add_argument("--out_dir", required=True)
    p.add_argument("--categories", default="env",
                   help="ESC-50 categories: 'env' (the paper's 20 environmental classes), 'all', "
                        "or a comma list (default env)")
    p.add_argument("--min_noise_seconds", type=float, default=4.5,
                   help="drop noise clips with less sound than this (default 4.5)")
    p.add_argument("--snr", type=float, default=None,
                   help="mix at this SNR in dB instead of the paper's peak rule")
    p.add_argument("--speech_split", default="0.8,0.1,0.1", help="train,val,test fractions")
    p.add_argument("--noise_test_fraction", type=float, default=0.1)
    p.add_argument("--noise_val_fraction", type=float, default=0.0,
                   help="noise recordings kept for the validation mixtures (0: they use the training noises)")
    p.add_argument("--train_mixes", type=int, default=3, help="mixtures per training utterance")
    p.add_argument("--test_mixes", type=int, default=1, help="mixtures per val/test utterance")
    p.add_argument("--max_utts", type=int, default=None, help="use at most this many utterances")
    p.add_argument("--max_seconds", type=float, default=None,
                   help="crop utterances to this length (keeps CPU vocoding short)")
    p.add_argument("--features", default="paper",
                   help="'paper' (22.05 kHz, the paper's STFT and mel) or a vocoder folder / .json whose rate "
                        "and mel the encoder is to predict (e.g. pretrained/wavenet: 16 kHz)")
    p.add_argument("--seed", type=int, default=0)
    return p


def list_noises(noise_dirs, categories, min_seconds):
    """[(path, category)] from ESC-50-layout or plain folders."""
    if categories == "env":
        cats = ESC50_ENVIRONMENTAL_CLASSES
    elif categories == "all":
        cats = None
    else:
        cats = [c.strip() for c in categories.split(",") if c.strip()]
    out = []
    for d in noise_dirs:
        d = Path(d)
        if (d / "meta" / "esc50.csv").is_file():
            try:
                items = read_esc50(d, categories=cats, min_seconds=min_seconds)
            except InputError as exc:
                print(f"note: {exc}; skipping this folder", file=sys.stderr)
                continue
            out += [(p, c) for p, c, _ in items]
        else:
            for p in list_wavs(d):
                out.append((p, p.stem))
    return out


def write_float_wav(path, x, sr):
    """Atomic 32-bit float wav, not clipped: the scaled speech (or noise) of a mixture may
    exceed 1 where the other component cancels it, and mix == clean + noise must hold."""
    with atomic_output(path) as tmp:
        sf.write(str(tmp), np.asarray(x, np.float32), sr, subtype="FLOAT", format="WAV")


def speech_in(folders):
    """``[(tag, path)]`` of every audio file under ``folders``; tags ``<folder name>_<file stem>`` (prompt
    names repeat across speakers' folders)."""
    return [(f"{Path(d).name}_{p.stem}", p) for d in folders for p in list_wavs(d)]


def make_mixtures(speech_dir, noise_dirs, out_dir, categories="env", min_noise_seconds=4.5,
                  snr=None, speech_split=(0.8, 0.1, 0.1), noise_test_fraction=0.1,
                  train_mixes=3, test_mixes=1, max_utts=None, max_seconds=None, seed=0,
                  progress=True, features=PAPER, speech_dirs=None, noise_val_fraction=0.0):
    """Write the split, lists and mixtures at ``features.sample_rate`` (see module docstring). Returns the
    split dict. ``speech_dirs``: ``{"train": [DIR, ...], "val": [...], "test": [...]}`` instead of
    splitting ``speech_dir`` by ``speech_split``."""
    out_dir = Path(out_dir)
    sr = features.sample_rate
    if speech_dirs:
        sp_train, sp_val, sp_test = (speech_in(speech_dirs[k]) for k in ("train", "val", "test"))
    else:
        speech = [(tag, Path(p)) for tag, p, _ in read_ljspeech(speech_dir)]
        if max_utts:
            speech = speech[:max_utts]
        if len(speech) < 3:
            raise InputError(f"{speech_dir}: need at least 3 utterances for train/val/test, found {len(speech)}")
        sp_train, sp_val, sp_test = mixing.split_items(speech, speech_split, seed)
    noises = []
    for path, cat in list_noises(noise_dirs, categories, min_noise_seconds):
        x, _ = load_audio(path, sr=sr, allow_silence=True)
        if active_seconds(x, sr) >= min_noise_seconds:
            noises.append((path, cat, x))
    if len(noises) < 2:
        raise InputError(f"{', '.join(map(str, noise_dirs))}: need at least 2 noise clips with "
                         f">= {min_noise_seconds} s of sound, found {len(noises)}")
    if noise_val_fraction > 0:   # three disjoint sets of noise recordings
        nz_train, nz_val, nz_test = mixing.split_items(
            noises, (1 - noise_val_fraction - noise_test_fraction, noise_val_fraction, noise_test_fraction), seed + 1)
    else:                        # (the split of the releases before this flag, unchanged)
        nz_train, nz_test = mixing.split_items(noises, (1 - noise_test_fraction, noise_test_fraction), seed + 1)
        nz_val = nz_train
    rng = np.random.default_rng(seed + 2)
    plan = {"train": (sp_train, nz_train, train_mixes), "val": (sp_val, nz_val, test_mixes),
            "test": (sp_test, nz_test, test_mixes)}
    split = {"seed": seed, "sr": sr, "rule": "paper" if snr is None else f"snr {snr} dB",
             "speech_dir": str(speech_dir), "noise_dirs": [str(d) for d in noise_dirs],
             "speech_dirs": {k: [str(d) for d in v] for k, v in (speech_dirs or {}).items()},
             "categories": categories, "min_noise_seconds": min_noise_seconds,
             "speech": {k: [t for t, _ in v[0]] for k, v in plan.items()},
             "noise": {"train": [str(p) for p, _, _ in nz_train], "test": [str(p) for p, _, _ in nz_test],
                       **({"val": [str(p) for p, _, _ in nz_val]} if noise_val_fraction > 0 else {})}}
    for name, (utts, nz, k) in plan.items():
        for sub in ("mix", "clean", "noise"):
            (out_dir / name / sub).mkdir(parents=True, exist_ok=True)
        rows = []
        jobs = [(u, j) for u in utts for j in range(k)]
        for (tag, path), j in tqdm(jobs, desc=f"mixing {name}", unit="mix", disable=not progress):
            x, _ = load_audio(path, sr=sr)
            if max_seconds:
                x = x[: int(max_seconds * sr)]
            npath, ncat, noise = nz[int(rng.integers(len(nz)))]
            m, s, n = mixing.mix(x, noise, snr)
            mid = f"{tag}__{Path(npath).stem}__{j}"
            for sub, sig in (("clean", s), ("noise", n), ("mix", m)):
                write_float_wav(out_dir / name / sub / f"{mid}.wav", sig, sr)
            rows.append({"id": mid, "speech": str(path), "noise": str(npath), "snr_db": snr})
        mixing.write_list(out_dir / f"{name}.csv", rows)
    save_settings(out_dir, features)
    write_json(out_dir / "split.json", split)
    return split


@cli_main
def main(argv=None):
    a = parse_args(build_parser(), settings.preset_dir("mixtures"), argv, default="default")
    features = settings_of(a.features)     # a bad --features fails before anything is written
    given = {k: getattr(a, f"{k}_speech") for k in ("train", "val", "test")}
    if a.speech_dir is None and not all(given.values()) or a.speech_dir is not None and any(given.values()):
        raise InputError("give either --speech_dir or all three of --train_speech, --val_speech, --test_speech")
    fr = tuple(float(v) for v in a.speech_split.split(","))
    if len(fr) != 3 or min(fr) < 0 or sum(fr) <= 0:
        raise InputError(f"--speech_split {a.speech_split!r}: need three non-negative fractions")
    split = make_mixtures(a.speech_dir, a.noise_dir, a.out_dir, a.categories, a.min_noise_seconds,
                          a.snr, fr, a.noise_test_fraction, a.train_mixes, a.test_mixes,
                          a.max_utts, a.max_seconds, a.seed, features=features,
                          speech_dirs=given if a.speech_dir is None else None, noise_val_fraction=a.noise_val_fraction)
    n = {k: len(v) for k, v in split["speech"].items()}
    print(f"split (seed {a.seed}): speech {n}, noise train {len(split['noise']['train'])} / "
          f"test {len(split['noise']['test'])}, {features.sample_rate} Hz -> {a.out_dir}")


if __name__ == "__main__":
    main()
