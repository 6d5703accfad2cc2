"""Test data for the AudioRNN tests: folders of short noisy tones."""
import numpy as np
import soundfile as sf


def write_tones(folder, n_files=3, seconds=1.0, sr=8000):
    """`n_files` noisy sine tones (150, 190, ... Hz) as float wavs in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n_files):
        t = np.arange(int(seconds * sr)) / sr
        x = 0.4 * np.sin(2 * np.pi * (150 + 40 * i) * t) + 0.005 * rng.standard_normal(len(t))
        sf.write(folder / f"tone{i}.wav", x.astype(np.float32), sr)
    return folder
