"""Three harmonic tones cut into CNN-vocoder segments (the resume and distribute tests' corpus)."""
import json

import numpy as np

from cnnvocoder import preprocess
from dsp.audio import write_wav


def write_tone_segments(root, settings):
    """Write ``root/wavs`` (3 tones, 1.5 s, 22.05 kHz), ``root/seg`` (segments) and ``root/tiny.json``.

    Args:
        root: Path, an empty folder.
        settings: dict, the tiny model's settings (written as the preset ``tiny.json``).
    Returns:
        ``root``.
    """
    (root / "wavs").mkdir()
    t = np.arange(int(1.5 * 22050)) / 22050
    for k, f0 in enumerate((110.0, 150.0, 190.0)):
        x = sum(0.2 / h * np.sin(2 * np.pi * h * f0 * t) for h in range(1, 12)) * (0.6 + 0.4 * np.sin(3 * t))
        write_wav(root / "wavs" / f"v{k}.wav", x, 22050)
    preprocess.main(["--data_dir", str(root / "wavs"), "--out_dir", str(root / "seg"),
                     "--samples_per_audio", "2", "--num_workers", "1", "--val_fraction", "0.3"])
    (root / "tiny.json").write_text(json.dumps(settings))
    return root
