"""Test data for the AudioRNN tests: folders of short noisy tones, or of a repeating code cycle."""
import numpy as np
import soundfile as sf

from audiornn.AudioRNNData import codes_to_audio

# A 12-code cycle: each code is followed by one fixed code, so a trained model
# continues any window of it in a known, non-constant way.
CODE_CYCLE = np.array([128, 200, 240, 180, 90, 30, 10, 60, 150, 250, 100, 20], np.uint8)


def write_tones(folder, n_files=3, seconds=1.0, sr=8000):
    """`n_files` noisy sine tones (150, 190, ... Hz) as float wavs in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n_files):
        t = np.arange(int(seconds * sr)) / sr
        x = 0.4 * np.sin(2 * np.pi * (150 + 40 * i) * t) + 0.005 * rng.standard_normal(len(t))
        sf.write(folder / f"tone{i}.wav", x.astype(np.float32), sr)
    return folder


def write_code_cycle(folder, n_files=2, seconds=0.5, sr=8000):
    """`n_files` float wavs whose µ-law codes (mu 255, pre-emphasis 0.95, as training
    encodes them) repeat CODE_CYCLE, file i starting i codes into the cycle."""
    folder.mkdir(parents=True, exist_ok=True)
    n = int(seconds * sr)
    for i in range(n_files):
        codes = np.tile(np.roll(CODE_CYCLE, -i), n // len(CODE_CYCLE) + 1)[:n]
        sf.write(folder / f"cycle{i}.wav", codes_to_audio(codes), sr, subtype="FLOAT")
    return folder
