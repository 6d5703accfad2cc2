"""Shared signal processing for every pipeline of the toolkit.

One place for STFT, mel, MFCC, mu-law, pre-emphasis, LPC/LSF, audio I/O and
metrics, so that ResGAN, AudioRNN, separation and the CNN vocoder all compute
the same features the same way.  Pure numpy/scipy (librosa where it is the
reference); nothing here imports Keras, so command-line tools start fast.

Submodules:
    audio     loading, validation, atomic writing, CLI error handling
    filters   pre-emphasis / de-emphasis
    spectral  framing, STFT/iSTFT, mel filterbanks, dB normalisation, Griffin-Lim
    mulaw     mu-law companding
    lpc       Levinson-Durbin, LSF <-> polynomial, all-pole envelopes
    mfcc      the ResGAN MFCC -> all-pole envelope analysis (get_mfcc.py)
    metrics   LSD, spectral convergence, MCD, SI-SDR, SDR, PESQ, STOI
"""
import os
from pathlib import Path

# librosa JIT-compiles with numba; keep the cache inside the clone so it is
# built once per checkout instead of once per process.
_REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("NUMBA_CACHE_DIR", str(_REPO_ROOT / ".numba_cache"))
