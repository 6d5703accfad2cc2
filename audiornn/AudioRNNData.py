"""AudioRNN data preparation: a folder of wavs -> one uint8 mu-law code array.

Every wav under a folder (recursively) is read as mono at the training rate,
pre-emphasised (y[n] = x[n] - 0.95 x[n-1]), clipped to [-1, 1] and mu-law
encoded to one uint8 code per sample.  The files are stored back to back in
one array, with their start offsets and lengths, so training can cut windows
on the fly (see windows.py) and keep a held-out tail of every file.  The
cache (`.npz`) records everything needed to reproduce the codes (rate, mu,
pre-emphasis, the file list with sizes and modification times) and is
rebuilt when any of it changes.

Usage:
    python -m audiornn.AudioRNNData -d data/audiornn_corpus -sr 8000 -o data/audiornn/codes.npz
"""
import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from corpus.readers import list_wavs
from dsp.audio import InputError, atomic_output, check_output, cli_main, load_audio
from dsp.filters import de_emphasis, pre_emphasis
from dsp.mulaw import mu_law_decode, mu_law_encode

PREEMPHASIS = 0.95
CACHE_VERSION = 1
MU_VARIANTS = (255, 256)


def encode_codes(x, mu=255):
    """Float samples in [-1, 1] -> uint8 mu-law codes 0..255.

    Args:
        x: float array [...], clipped to [-1, 1].
        mu: 255 (standard, `dsp.mulaw`, agrees with librosa.mu_compress) or
            256 (the original AudioRNN variant: companding constant 256,
            the companded value quantised onto the same 256 codes).
    Returns:
        uint8 array [...].
    """
    if mu == 255:
        return mu_law_encode(x, mu=255).astype(np.uint8)
    if mu == 256:
        x = np.clip(np.asarray(x, dtype=np.float64), -1.0, 1.0)
        f = np.sign(x) * np.log1p(256.0 * np.abs(x)) / np.log1p(256.0)
        return np.rint((f + 1.0) / 2.0 * 255.0).astype(np.uint8)
    raise InputError(f"mu must be one of {MU_VARIANTS}, got {mu}")


def decode_codes(codes, mu=255):
    """uint8 codes 0..255 -> float32 samples in [-1, 1] (inverse of encode_codes)."""
    if mu == 255:
        return mu_law_decode(np.asarray(codes, dtype=np.int64), mu=255)
    if mu == 256:
        f = 2.0 * np.asarray(codes, dtype=np.float64) / 255.0 - 1.0
        return (np.sign(f) * np.expm1(np.abs(f) * np.log1p(256.0)) / 256.0).astype(np.float32)
    raise InputError(f"mu must be one of {MU_VARIANTS}, got {mu}")


def audio_to_codes(x, mu=255, coef=PREEMPHASIS):
    """Waveform float [n] -> pre-emphasised, clipped, mu-law uint8 codes [n]."""
    y = pre_emphasis(np.asarray(x, dtype=np.float32), coef=coef)
    return encode_codes(np.clip(y, -1.0, 1.0), mu=mu)


def codes_to_audio(codes, mu=255, coef=PREEMPHASIS):
    """uint8 codes [..., n] -> de-emphasised waveform float32 [..., n]."""
    return de_emphasis(decode_codes(codes, mu=mu), coef=coef).astype(np.float32)


def prime_codes(path, timesteps, sr, mu=255, coef=PREEMPHASIS):
    """A recording for generation to continue: (audio float32 [n] at `sr`, its codes uint8 [n]).

    Any rate or channel count is converted (one notice); a missing, corrupt or
    silent file, or one shorter than the model's window of `timesteps` samples,
    is refused with one line (InputError).
    """
    x, _ = load_audio(path, sr=sr, min_samples=timesteps)
    return x, audio_to_codes(x, mu=mu, coef=coef)


@dataclass
class CodeCache:
    """All files of a corpus as one code array.

    Attributes:
        codes: uint8 [total_samples], the files back to back.
        starts: int64 [n_files], offset of each file in `codes`.
        lengths: int64 [n_files], samples per file.
        meta: dict (sr, mu, preemphasis, datadir, files, version).
    """
    codes: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def seconds(self):
        return len(self.codes) / float(self.meta["sr"])

    def file_codes(self, i):
        return self.codes[self.starts[i]:self.starts[i] + self.lengths[i]]


def join_caches(first, second):
    """One cache holding `first`'s files, then `second`'s (offsets shifted; meta of both).

    Used to keep a held-out folder (validation or test) beside the training
    files in one code array, so that windows of both are cut the same way.
    """
    return CodeCache(np.concatenate([first.codes, second.codes]),
                     np.concatenate([first.starts, second.starts + len(first.codes)]),
                     np.concatenate([first.lengths, second.lengths]),
                     {**first.meta, "held_out": second.meta, "n_first": len(first.lengths)})


def find_wavs(data_dir):
    """Every .wav under `data_dir`, recursively, sorted; clear error if none."""
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise InputError(f"{data_dir}: data folder does not exist")
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: is not a folder")
    try:
        wavs = [Path(p) for p in list_wavs(data_dir)]
    except InputError:
        wavs = []
    if not wavs:
        raise InputError(f"{data_dir}: no .wav files found (searched recursively)")
    return sorted(wavs)


def _signature(data_dir, wavs, sr, mu, coef):
    """What the cache depends on (its "datadir" key name is part of the cache format)."""
    data_dir = Path(data_dir).resolve()
    files = []
    for p in wavs:
        st = p.stat()
        # absolute, not resolved: a folder of symbolic links (corpus.split) keeps its own names
        files.append([str(Path(os.path.abspath(p)).relative_to(Path(os.path.abspath(data_dir)))),
                      st.st_size, st.st_mtime_ns])
    return {"version": CACHE_VERSION, "datadir": str(data_dir), "sr": int(sr),
            "mu": int(mu), "preemphasis": float(coef), "files": files}


def prepare_codes(data_dir, sr=8000, mu=255, coef=PREEMPHASIS, progress=True):
    """Read every wav under `data_dir` and encode it (see module docstring)."""
    if mu not in MU_VARIANTS:
        raise InputError(f"mu must be one of {MU_VARIANTS}, got {mu}")
    wavs = find_wavs(data_dir)
    meta = _signature(data_dir, wavs, sr, mu, coef)
    parts = []
    for p in tqdm(wavs, desc="encoding wavs", unit="file", disable=not progress,
                  mininterval=1.0):
        x, _ = load_audio(p, sr=sr, mono=True, min_samples=2)  # one (input, next) pair at least
        parts.append(audio_to_codes(x, mu=mu, coef=coef))
    lengths = np.array([len(c) for c in parts], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    codes = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    return CodeCache(codes, starts, lengths, meta)


def save_cache(cache, path):
    """Write the cache atomically as an uncompressed .npz."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, codes=cache.codes, starts=cache.starts, lengths=cache.lengths,
                     meta=np.array(json.dumps(cache.meta)))


def load_cache(path):
    """Read a cache written by `save_cache` (InputError if unusable)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            cache = CodeCache(z["codes"], z["starts"], z["lengths"],
                              json.loads(str(z["meta"])))
    except FileNotFoundError:
        raise InputError(f"{path}: code cache not found") from None
    except Exception as exc:
        raise InputError(f"{path}: unreadable code cache ({exc})") from None
    if cache.codes.dtype != np.uint8 or cache.meta.get("version") != CACHE_VERSION:
        raise InputError(f"{path}: not an AudioRNN code cache of version {CACHE_VERSION}")
    return cache


def load_or_prepare(data_dir, cache_path, sr=8000, mu=255, coef=PREEMPHASIS, progress=True):
    """Reuse `cache_path` if it was made from the same files and settings, else rebuild it."""
    cache_path = Path(cache_path)
    if cache_path.exists():
        try:
            cache = load_cache(cache_path)
            if cache.meta == _signature(data_dir, find_wavs(data_dir), sr, mu, coef):
                return cache
        except InputError:
            pass
        print(f"note: {cache_path} is stale, re-encoding {data_dir}", file=sys.stderr)
    cache = prepare_codes(data_dir, sr=sr, mu=mu, coef=coef, progress=progress)
    save_cache(cache, cache_path)
    return cache


def build_parser():
    p = argparse.ArgumentParser(prog="python -m audiornn.AudioRNNData",
                                description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-d", "--data_dir", required=True, help="folder of wav files (searched recursively)")
    p.add_argument("-sr", "--samplerate", type=int, default=8000, help="training sample rate (Hz)")
    p.add_argument("-o", "--output", default="data/audiornn/codes.npz", help="code cache to write")
    p.add_argument("--mu", type=int, default=255, choices=MU_VARIANTS,
                   help="mu-law variant: 255 standard, 256 as the original AudioRNN")
    p.add_argument("--preemphasis", type=float, default=PREEMPHASIS, help="pre-emphasis coefficient")
    return p


@cli_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    check_output(args.output)  # an unwritable output folder stops the run before any work
    cache = load_or_prepare(args.data_dir, args.output, sr=args.samplerate, mu=args.mu,
                            coef=args.preemphasis)
    print(f"{args.output}: {len(cache.lengths)} files, {len(cache.codes)} samples "
          f"({cache.seconds / 60:.1f} min at {args.samplerate} Hz), {cache.codes.nbytes / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
