"""Readers for real corpora: a generic wav folder, LJSpeech, CMU ARCTIC, ESC-50, McGill TSP.

Each reader checks the layout and raises :class:`dsp.audio.InputError` with one
clear line ``"<path>: <problem>"`` (missing folder, missing metadata, no audio,
metadata rows without their file), so a pipeline pointed at the wrong folder
stops at once with a message that says what to fix. Readers only list files;
load the audio with :func:`dsp.audio.load_audio` (which validates it).

Example:
    >>> from corpus.readers import read_ljspeech
    >>> items = read_ljspeech("LJSpeech-1.1")  # [(tag, wav_path, text), ...]
"""

from __future__ import annotations

import csv
import re
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from dsp.audio import InputError, notice

__all__ = [
    "AUDIO_EXTENSIONS",
    "ESC50_CLASSES",
    "ESC50_ENVIRONMENTAL_CLASSES",
    "list_wavs",
    "read_ljspeech",
    "read_cmu_arctic",
    "read_esc50",
    "read_tsp",
]

AUDIO_EXTENSIONS = (".wav", ".flac")

# The 50 ESC-50 classes, index = ESC-50 `target`.
ESC50_CLASSES = (
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind",
    "pouring_water", "toilet_flush", "thunderstorm",
    "crying_baby", "sneezing", "clapping", "breathing", "coughing", "footsteps", "laughing",
    "brushing_teeth", "snoring", "drinking_sipping",
    "door_wood_knock", "mouse_click", "keyboard_typing", "door_wood_creaks", "can_opening",
    "washing_machine", "vacuum_cleaner", "clock_alarm", "clock_tick", "glass_breaking",
    "helicopter", "chainsaw", "siren", "car_horn", "engine", "train", "church_bells", "airplane",
    "fireworks", "hand_saw",
)

# The 20 environmental (non-speech-like) classes used as noise in the
# speech-synthesis-for-separation paper: natural soundscapes and urban noises.
ESC50_ENVIRONMENTAL_CLASSES = (
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind",
    "pouring_water", "toilet_flush", "thunderstorm",
    "helicopter", "chainsaw", "siren", "car_horn", "engine", "train", "church_bells", "airplane",
    "fireworks", "hand_saw",
)


def _require_dir(path: Path, what: str) -> Path:
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if not path.is_dir():
        raise InputError(f"{path}: expected a folder ({what}), found a file")
    return path


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise InputError(f"{path}: {what} not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: {what} is empty")
    return path


def _check_missing(missing: list[Path], total: int, where: Path, allow_missing: bool) -> None:
    if missing and not allow_missing:
        raise InputError(
            f"{where}: {len(missing)} of {total} listed audio files are missing "
            f"(first: {missing[0]}); pass allow_missing=True to use the others")


def list_wavs(folder, extensions=AUDIO_EXTENSIONS) -> list[Path]:
    """All audio files under ``folder`` (recursive, sorted; ``.wav``/``.flac`` by default).

    Symbolic links to folders are followed (a corpus assembled from links to
    others' folders), each real folder once.

    Raises:
        InputError: the folder is missing or holds no audio file.
    """
    folder = _require_dir(Path(folder), "audio folder")
    exts = tuple(e.lower() for e in extensions)
    files, seen = [], set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a link cycle or a folder linked twice
            dirs[:] = []
            continue
        seen.add(real)
        files += [Path(root) / n for n in names
                  if Path(n).suffix.lower() in exts and not n.startswith(".")]
    files = sorted(p for p in files if p.is_file())
    if not files:
        raise InputError(f"{folder}: no audio files ({', '.join(exts)}) in this folder or below")
    return files


def read_ljspeech(root, allow_missing: bool = False, require_text: bool = False) -> list[tuple[str, Path, str]]:
    """LJSpeech layout: ``root/metadata.csv`` (``id|text|normalized text``) and ``root/wavs/<id>.wav``.

    Also reads the synthetic corpus of :func:`corpus.synth.make_corpus` (``wav/`` folder).

    Args:
        root: the corpus folder (e.g. ``LJSpeech-1.1``).
        allow_missing: skip metadata rows whose wav is absent instead of failing.
        require_text: drop wavs that have no metadata row. By default they are
            kept with an empty text (vocoders need audio only) and a notice
            says how many there are.

    Returns:
        ``[(tag, wav_path, text), ...]`` sorted by tag; ``text`` is the
        normalised transcription (third column) when present, else the second.
    Raises:
        InputError: missing folder / metadata / wavs folder, a malformed row,
            no rows, or rows without their wav (unless ``allow_missing``).
    """
    root = _require_dir(Path(root), "LJSpeech folder")
    meta = _require_file(root / "metadata.csv", "metadata.csv (LJSpeech layout: id|text|normalized)")
    # LJSpeech ships `wavs/`; the synthetic corpus (corpus.synth) writes `wav/`.
    wavs = root / "wavs" if (root / "wavs").is_dir() or not (root / "wav").is_dir() else root / "wav"
    wavs = _require_dir(wavs, "wavs/ folder (LJSpeech layout)")
    texts, missing = {}, []
    with open(meta, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n\r")
            if not line.strip():
                continue
            fields = line.split("|")
            if len(fields) < 2 or not fields[0].strip():
                raise InputError(f"{meta}: line {lineno} is not 'id|text|normalized text': {line[:60]!r}")
            tag = fields[0].strip()
            text = fields[2] if len(fields) >= 3 and fields[2].strip() else fields[1]
            if not (wavs / f"{tag}.wav").is_file():
                missing.append(wavs / f"{tag}.wav")
                continue
            texts[tag] = text.strip()
    _check_missing(missing, len(texts) + len(missing), meta, allow_missing)
    if not texts:
        raise InputError(f"{meta}: no usable rows")
    unlisted = [] if require_text else sorted(
        p.stem for p in wavs.glob("*.wav") if p.stem not in texts and not p.name.startswith("."))
    if unlisted:
        notice(f"{wavs}: {len(unlisted)} wavs have no row in metadata.csv (kept with empty text)")
    return [(tag, wavs / f"{tag}.wav", texts.get(tag, "")) for tag in sorted(list(texts) + unlisted)]


_ARCTIC_LINE = re.compile(r'^\(\s*(\S+)\s+"(.*)"\s*\)\s*$')


def read_cmu_arctic(root, allow_missing: bool = False) -> list[tuple[str, Path, str]]:
    """CMU ARCTIC: ``cmu_us_<spk>_arctic/wav/*.wav`` and ``.../etc/txt.done.data``.

    ``root`` is either one speaker folder (``cmu_us_slt_arctic``) or a folder
    holding several of them.

    Returns:
        ``[(tag, wav_path, text), ...]`` with ``tag = "<spk>_<utt id>"`` (e.g.
        ``slt_arctic_a0001``), speakers and utterances in sorted order.
    Raises:
        InputError: no speaker folder, missing ``wav/`` or ``etc/txt.done.data``,
            malformed prompt lines, or prompts without their wav.
    """
    root = _require_dir(Path(root), "CMU ARCTIC folder")
    if (root / "etc").is_dir() or (root / "wav").is_dir():
        speakers = [root]
    else:
        speakers = sorted(p for p in root.glob("cmu_us_*_arctic*") if p.is_dir())
        if not speakers:
            raise InputError(f"{root}: no CMU ARCTIC speaker folder (cmu_us_<speaker>_arctic/) found")
    items, missing = [], []
    for spk_dir in speakers:
        m = re.match(r"cmu_us_([a-z0-9]+)_arctic", spk_dir.name)
        spk = m.group(1) if m else spk_dir.name
        prompts = _require_file(spk_dir / "etc" / "txt.done.data", "prompt file etc/txt.done.data")
        wav_dir = _require_dir(spk_dir / "wav", "wav/ folder (CMU ARCTIC layout)")
        with open(prompts, encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                mm = _ARCTIC_LINE.match(line.strip())
                if not mm:
                    raise InputError(f"{prompts}: line {lineno} is not '( utt_id \"text\" )': {line.strip()[:60]!r}")
                utt, text = mm.groups()
                path = wav_dir / f"{utt}.wav"
                if not path.is_file():
                    missing.append(path)
                    continue
                items.append((f"{spk}_{utt}", path, text))
    _check_missing(missing, len(items) + len(missing), root, allow_missing)
    if not items:
        raise InputError(f"{root}: no CMU ARCTIC utterances found")
    return items


def active_seconds(x, sr: int, threshold_db: float = -50.0, frame_s: float = 0.05) -> float:
    """Seconds of a signal whose 50 ms RMS is within threshold_db of its loudest frame."""
    x = np.asarray(x, dtype=np.float64)
    hop = max(1, int(frame_s * sr))
    n = len(x) // hop
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    if rms.max() <= 0:
        return 0.0
    return float(np.sum(rms >= rms.max() * 10 ** (threshold_db / 20)) * hop / sr)


def _active_seconds(path: Path, threshold_db: float = -50.0, frame_s: float = 0.05) -> float:
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise InputError(f"{path}: cannot decode audio ({exc})") from None
    return active_seconds(x.mean(axis=1), sr, threshold_db, frame_s)


def read_esc50(root, categories=None, min_seconds: float | None = None,
               allow_missing: bool = False) -> list[tuple[Path, str, int]]:
    """ESC-50 layout: ``root/audio/*.wav`` and ``root/meta/esc50.csv``.

    Args:
        root: the ESC-50 folder (e.g. ``ESC-50-master``) or our synthetic noise folder.
        categories: keep only these categories (e.g. :data:`ESC50_ENVIRONMENTAL_CLASSES`);
            a name that is neither an ESC-50 class nor present in the csv is an error (typo).
        min_seconds: keep only clips with at least this many seconds of sound
            (50 ms frames within 50 dB of the clip's loudest; ESC-50 pads short
            clips to 5 s with silence). Reads each kept clip once.
        allow_missing: skip csv rows whose file is absent instead of failing.

    Returns:
        ``[(wav_path, category, fold), ...]`` in csv order.
    """
    root = _require_dir(Path(root), "ESC-50 folder")
    meta = _require_file(root / "meta" / "esc50.csv", "meta/esc50.csv (ESC-50 layout)")
    audio = _require_dir(root / "audio", "audio/ folder (ESC-50 layout)")
    with open(meta, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = {"filename", "fold", "category"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise InputError(f"{meta}: needs the columns {sorted(need)}, found {reader.fieldnames}")
        rows = list(reader)
    if not rows:
        raise InputError(f"{meta}: no rows")
    if categories is not None:
        categories = [categories] if isinstance(categories, str) else list(categories)
        present = {r["category"] for r in rows}
        unknown = [c for c in categories if c not in present and c not in ESC50_CLASSES]
        if unknown:
            raise InputError(f"{meta}: unknown categories {unknown} (not ESC-50 classes, not in the csv)")
        wanted = set(categories)
        rows = [r for r in rows if r["category"] in wanted]
    items, missing = [], []
    for i, r in enumerate(rows):
        try:
            fold = int(r["fold"])
        except (TypeError, ValueError):
            raise InputError(f"{meta}: row {i + 2} has a non-integer fold {r['fold']!r}") from None
        path = audio / r["filename"]
        if not path.is_file():
            missing.append(path)
            continue
        if min_seconds is not None and _active_seconds(path) < min_seconds:
            continue
        items.append((path, r["category"], fold))
    _check_missing(missing, len(items) + len(missing), meta, allow_missing)
    if not items:
        what = f" of categories {categories}" if categories is not None else ""
        extra = f" with at least {min_seconds} s of sound" if min_seconds is not None else ""
        raise InputError(f"{root}: no clips{what}{extra}")
    return items


_TSP_SPEAKER = re.compile(r"^[FM][A-Z]$")


def read_tsp(root, rate_folder: str | None = None) -> list[tuple[str, Path, str]]:
    """McGill TSP speech database: speaker folders (``FA``, ``MA``, ...) of ``<spk><nn>_<nn>.wav``.

    ``root`` is either the folder holding the speaker folders (e.g. ``48k/``) or
    its parent holding rate folders (``48k/``, ``16k/``, ...); then
    ``rate_folder`` picks one (default: ``16k`` if present, else the only one,
    else the first in sorted order).

    Returns:
        ``[(tag, wav_path, speaker), ...]`` sorted, with ``tag`` = file stem (``MA01_01``).
    """
    root = _require_dir(Path(root), "TSP folder")

    def speaker_dirs(folder):
        return sorted(p for p in folder.iterdir() if p.is_dir() and _TSP_SPEAKER.match(p.name))

    speakers = speaker_dirs(root)
    if not speakers:
        rates = sorted(p for p in root.iterdir() if p.is_dir() and re.match(r"^\d+k$", p.name))
        if rate_folder is not None:
            chosen = _require_dir(root / rate_folder, "TSP rate folder")
        elif rates:
            names = [p.name for p in rates]
            chosen = root / ("16k" if "16k" in names else names[0])
        else:
            raise InputError(f"{root}: no TSP speaker folders (FA, MA, ...) or rate folders (48k/, 16k/)")
        speakers = speaker_dirs(chosen)
        if not speakers:
            raise InputError(f"{chosen}: no TSP speaker folders (FA, MA, ...)")
    items = []
    for spk_dir in speakers:
        for path in sorted(spk_dir.glob("*.wav")):
            items.append((path.stem, path, spk_dir.name))
    if not items:
        raise InputError(f"{root}: TSP speaker folders hold no .wav files")
    return items
