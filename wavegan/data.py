"""The spoken-digit data: FSDD clips as fixed-length arrays, split by speaker.

The Free Spoken Digit Dataset (``$AUDIOSYNTH_REALDATA/fsdd_8k``: 3000 clips
``{digit}_{speaker}_{index}.wav`` of 6 speakers, 8 kHz) is the SC09 task of
the WaveGAN paper at half the rate. `prepare` reads every clip once and writes

    out_dir/train.npz, val.npz, test.npz   audio float32 [n, length], labels int64 [n],
                                           speakers str [n], files str [n]
    out_dir/split.json                     speakers and clip counts of each part, settings

The split is BY SPEAKER, so the digit classifier's test accuracy (and any
memorisation check) is measured on a voice it never heard: of the six speakers
(george, jackson, lucas, nicolas, theo, yweweler) ``nicolas`` is the
validation speaker (early stopping) and ``theo`` the test speaker; the other
four (2000 clips) train. Any speaker may be moved with ``--val_speakers`` /
``--test_speakers``.

Length: every clip becomes exactly ``length`` samples (8192 = 1.024 s at
8 kHz, the WaveGAN output length). A shorter clip is padded with zeros AT THE
END (the speech keeps its onset at sample 0, as in WaveGAN's loader, which pads
the end of the first slice); a longer one is CUT AT THE END (the first
``length`` samples are kept; 17 of the 3000 FSDD clips, the longest 2.3 s, lose
their tail). ``--align center`` centres the clip instead (pad or cut
equally on both sides). Other rates are resampled (`dsp.audio.load_audio`);
silent, corrupt or truncated files raise `InputError` naming the file, or with
``--skip_bad`` give one warning line each and are left out.

Level: clips keep their recorded level unless ``--normalize`` scales each one to a
peak of 0.95 after the length fit (the option ``data_normalize`` of WaveGAN's
loader; FSDD's clips peak at 0.34 and sit near -28 dB RMS on average).

    python -m wavegan.data --fsdd_dir $AUDIOSYNTH_REALDATA/fsdd_8k --out_dir data/wavegan/fsdd
"""
import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from corpus.readers import list_wavs
from corpus.realdata import realdata_root
from dsp.audio import InputError, cli_main, load_audio, notice, write_json

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
VAL_SPEAKERS = ("nicolas",)
TEST_SPEAKERS = ("theo",)
PARTS = ("train", "val", "test")
_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)$")


def default_fsdd_dir():
    """``$AUDIOSYNTH_REALDATA/fsdd_8k``, else ``../shared/realdata/fsdd_8k``."""
    return realdata_root() / "fsdd_8k"


def parse_name(path):
    """(digit, speaker, index) of an FSDD file name ``{digit}_{speaker}_{index}.wav``.

    Raises:
        InputError: the name does not follow the pattern.
    """
    match = _NAME.match(Path(path).stem)
    if not match:
        raise InputError(f"{path}: not an FSDD file name ({{digit}}_{{speaker}}_{{index}}.wav)")
    return int(match.group(1)), match.group(2), int(match.group(3))


def fit_length(x, length, align="start"):
    """Pad with zeros or cut a clip to exactly `length` samples.

    Args:
        x: float32 [time].
        length: int, the output length.
        align: "start" (pad or cut at the end; the onset stays at sample 0) or
            "center" (pad or cut equally on both sides).
    Returns:
        float32 [length].
    """
    if align not in ("start", "center"):
        raise ValueError(f"align must be 'start' or 'center', not {align!r}")
    n = len(x)
    offset = (abs(n - length) // 2) if align == "center" else 0
    if n >= length:
        return np.asarray(x[offset:offset + length], dtype=np.float32)
    out = np.zeros(length, dtype=np.float32)
    out[offset:offset + n] = x
    return out


NORMALIZED_PEAK = 0.95


def normalize_peaks(audio, peak=NORMALIZED_PEAK):
    """Scale each clip to the given peak magnitude.

    Args:
        audio: float32 [n, length]; a clip left all zero by the length fit stays zero.
        peak: float, the peak of every output clip.
    Returns:
        float32 [n, length].
    """
    peaks = np.max(np.abs(audio), axis=1, keepdims=True)
    return (audio * (peak / np.maximum(peaks, 1e-12))).astype(np.float32)


def _read_clips(items, sr, length, align, skip_bad):
    """Audio [n, length] of the readable (path, digit, speaker) items and those items."""
    audio, kept = [], []
    for path, digit, speaker in items:
        try:
            x, _ = load_audio(path, sr=sr)
        except InputError as exc:
            if not skip_bad:
                raise
            notice(f"skipped: {exc}")
            continue
        audio.append(fit_length(x, length, align))
        kept.append((path, digit, speaker))
    audio = np.stack(audio) if audio else np.zeros((0, length), np.float32)
    return audio, kept


def _assign_part(speaker, val_speakers, test_speakers):
    if speaker in test_speakers:
        return "test"
    return "val" if speaker in val_speakers else "train"


def prepare(fsdd_dir, out_dir, sr=8000, length=8192, val_speakers=VAL_SPEAKERS,
            test_speakers=TEST_SPEAKERS, align="start", skip_bad=False, normalize=False):
    """Write the speaker-split arrays of an FSDD folder (see the module docstring).

    Args:
        fsdd_dir: folder of ``{digit}_{speaker}_{index}.wav`` files (searched recursively).
        out_dir: output folder; written atomically (a temporary folder beside it is
            renamed at the end, replacing an earlier output).
        sr: int, sample rate of the arrays (other rates are resampled).
        length: int, samples per clip (padded or cut, see `fit_length`).
        val_speakers: speakers of the validation part.
        test_speakers: speakers of the test part; all others train.
        align: "start" or "center", see `fit_length`.
        skip_bad: bool; warn about and leave out unreadable/silent files instead of stopping.
        normalize: bool; scale every clip to a peak of 0.95 (`normalize_peaks`).
    Returns:
        dict, the contents of split.json.
    Raises:
        InputError: missing folder, bad file name, unknown or overlapping speakers,
            an empty part, or (without skip_bad) a bad audio file.
    """
    items = []
    for path in list_wavs(fsdd_dir):
        digit, speaker, _ = parse_name(path)
        items.append((path, digit, speaker))
    found = sorted({speaker for _, _, speaker in items})
    val_speakers, test_speakers = tuple(val_speakers), tuple(test_speakers)
    for name in (*val_speakers, *test_speakers):
        if name not in found:
            raise InputError(f"{fsdd_dir}: no clips of speaker {name!r} (found: {', '.join(found)})")
    if set(val_speakers) & set(test_speakers):
        raise InputError(f"speakers {sorted(set(val_speakers) & set(test_speakers))} are in both "
                         "the validation and the test part")
    audio, kept = _read_clips(items, sr, length, align, skip_bad)
    if normalize:
        audio = normalize_peaks(audio)
    parts = np.array([_assign_part(s, val_speakers, test_speakers) for _, _, s in kept])
    split = {"fsdd_dir": str(fsdd_dir), "sr": int(sr), "length": int(length), "align": align,
             "normalize": bool(normalize), "speakers": found,
             "skipped": len(items) - len(kept), "parts": {}}
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp creates 0700; the output is an ordinary folder
    try:
        for part in PARTS:
            idx = np.flatnonzero(parts == part)
            if len(idx) == 0:
                raise InputError(f"{fsdd_dir}: no clips left for the {part} part")
            np.savez(tmp / f"{part}.npz", audio=audio[idx],
                     labels=np.array([kept[i][1] for i in idx], dtype=np.int64),
                     speakers=np.array([kept[i][2] for i in idx]),
                     files=np.array([Path(kept[i][0]).name for i in idx]))
            split["parts"][part] = {
                "speakers": sorted({kept[i][2] for i in idx}), "clips": int(len(idx)),
                "per_digit": np.bincount([kept[i][1] for i in idx], minlength=10).tolist()}
        write_json(tmp / "split.json", split)
        if out_dir.exists():  # replace an earlier output only once the new one is complete
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return split


def load_split(out_dir, part):
    """(audio float32 [n, length], labels int64 [n]) of one part written by `prepare`.

    Raises:
        InputError: unknown part, missing or unreadable file.
    """
    if part not in PARTS:
        raise InputError(f"unknown part {part!r} (one of {', '.join(PARTS)})")
    path = Path(out_dir) / f"{part}.npz"
    if not path.is_file():
        raise InputError(f"{path}: not found (run python -m wavegan.data first)")
    try:
        with np.load(path) as data:
            return data["audio"].astype(np.float32), data["labels"].astype(np.int64)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a prepared FSDD part ({exc})") from None


def load_part(out_dir, part):
    """All arrays of a part as a dict: audio, labels, speakers, files (see `prepare`)."""
    audio, labels = load_split(out_dir, part)
    with np.load(Path(out_dir) / f"{part}.npz") as data:
        return {"audio": audio, "labels": labels, "speakers": data["speakers"],
                "files": data["files"]}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m wavegan.data",
        description="Write FSDD as fixed-length arrays split by speaker "
                    "(train/val/test .npz + split.json).")
    parser.add_argument("--fsdd_dir", default=default_fsdd_dir(),
                        help="folder of {digit}_{speaker}_{index}.wav "
                             "(default $AUDIOSYNTH_REALDATA/fsdd_8k, else ../shared/realdata/fsdd_8k)")
    parser.add_argument("--out_dir", required=True, help="output folder (replaced atomically)")
    parser.add_argument("--sr", type=int, default=8000, help="sample rate (others resampled)")
    parser.add_argument("--length", type=int, default=8192, help="samples per clip")
    parser.add_argument("--align", choices=("start", "center"), default="start",
                        help="start: pad/cut at the end (default); center: on both sides")
    parser.add_argument("--val_speakers", nargs="+", default=list(VAL_SPEAKERS))
    parser.add_argument("--test_speakers", nargs="+", default=list(TEST_SPEAKERS))
    parser.add_argument("--skip_bad", action="store_true",
                        help="warn about and leave out unreadable or silent files")
    parser.add_argument("--normalize", action="store_true",
                        help=f"scale every clip to a peak of {NORMALIZED_PEAK} "
                             "(WaveGAN's data_normalize; default: recorded level)")
    return parser


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if not Path(args.fsdd_dir).is_dir():
        raise InputError(f"{args.fsdd_dir}: no such folder (set --fsdd_dir or AUDIOSYNTH_REALDATA)")
    if args.length < 1 or args.sr < 1:
        raise InputError("--length and --sr must be positive")
    split = prepare(args.fsdd_dir, args.out_dir, sr=args.sr, length=args.length,
                    val_speakers=args.val_speakers, test_speakers=args.test_speakers,
                    align=args.align, skip_bad=args.skip_bad, normalize=args.normalize)
    for part, info in split["parts"].items():
        print(f"{part}: {info['clips']} clips of {', '.join(info['speakers'])}")
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()
