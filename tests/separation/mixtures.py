"""A tiny synthetic speech + noise mixture corpus with encoder and B2 presets (resume and distribute tests)."""
import json

from corpus.noise import make_noises
from corpus.synth import make_corpus
from separation.make_mixtures import make_mixtures


def write_mixtures(root, presets):
    """Write ``root/speech``, ``root/noise``, ``root/mix`` and one ``root/NAME.json`` per preset.

    Args:
        root: Path, an empty folder.
        presets: dict name -> settings (e.g. ``{"encoder": {...}, "b2": {...}}``).
    Returns:
        ``root``.
    """
    make_corpus(root / "speech", n_utterances=5, seconds_per_utt=(0.6, 0.9), sr=22050, seed=0)
    make_noises(root / "noise", sr=22050, seconds=0.7, seed=0, n_per_kind=1,
                categories=("pink_noise", "babble", "mains_hum"))
    make_mixtures(root / "speech", [root / "noise"], root / "mix", categories="all",
                  min_noise_seconds=0.5, noise_test_fraction=0.34, seed=0, progress=False)
    for name, preset in presets.items():
        (root / f"{name}.json").write_text(json.dumps(preset))
    return root
