"""Shared signal processing for every pipeline of the toolkit.

One place for STFT, mel, MFCC, mu-law, pre-emphasis, LPC/LSF, audio I/O and
metrics, so that ResGAN, AudioRNN, separation and the CNN vocoder all compute
the same features the same way.  Pure numpy/scipy (librosa where it is the
reference); nothing here but `backend` imports Keras, and dsp imports nothing
of the toolkit but itself (the lowest layer).

The analysis path (audio, filters, spectral, lpc, mfcc) imports only numpy,
soundfile and librosa's lazy loader, so get_mfcc.py starts in about the time
of `import numpy`; scipy.signal (1-2 s of start-up) is imported only inside
the rare functions that need it, with a comment saying so.

Submodules:
    audio     loading, validation, atomic writing, CLI error handling
    filters   pre-emphasis / de-emphasis
    spectral  framing, STFT/iSTFT, mel filterbanks, dB normalisation, Griffin-Lim
    pghi      phase-gradient heap integration (phase from magnitude), declipping, FGLA refinement
    postfilters  pulling a generated waveform's mel amplitudes toward its conditioning mel
    mulaw     mu-law companding
    lpc       Levinson-Durbin, LSF <-> polynomial, all-pole envelopes
    mfcc      the ResGAN MFCC -> all-pole envelope analysis (get_mfcc.py)
    metrics   LSD, spectral convergence, MCD, SI-SDR, SDR, PESQ, STOI, DNSMOS, ViSQOL
    presets   --preset NAME files, resolved configurations saved beside checkpoints
    backend   the TensorFlow-only checks (imports Keras: not for fast CLIs)

Importing `dsp` sets two process-wide defaults, here and nowhere else: every
pipeline package imports `dsp` in its `__init__` before anything imports Keras.
"""
import os
from pathlib import Path

# librosa JIT-compiles with numba; keep the cache inside the clone so it is
# built once per checkout instead of once per process.
_REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("NUMBA_CACHE_DIR", str(_REPO_ROOT / ".numba_cache"))
# TensorFlow prints start-up notices (oneDNN, CPU features) unless this is set
# before it is first imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
