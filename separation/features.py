"""Features of the separation pipeline (all from `dsp.spectral`), at one `FeatureSettings`.

The paper's settings (`PAPER`, the default): frames of hop 256 at 22.05 kHz, Hann window,
n_fft 1024:
- linear: 20 log10(max(1e-5, |X|)) - 30, mapped by (S + 80) / 80, clipped to [0, 1],
  n_fft / 2 = 512 bins (the Nyquist bin dropped) -> `[frames, 512]`;
- mel: 80 Slaney bands 125-7600 Hz of |X|, 20 log10 - 20, (S + 100) / 100, clipped
  -> `[frames, 80]` (the vocoder's conditioning).
frames = 1 + len(x) // hop (centred frames, like librosa).
`FeatureSettings.from_vocoder` takes the rate, STFT and mel of a trained WaveNet vocoder instead
(e.g. `pretrained/wavenet`: 16 kHz, n_fft 800, hop 200, 50-7600 Hz), so that the encoder predicts
exactly the mel that vocoder was trained on. The module-level functions are `PAPER`'s.
"""
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from dsp import spectral
from dsp.audio import InputError, write_json

FEATURES_FILE = "features.json"


@dataclass(frozen=True)
class FeatureSettings:
    """Rate, STFT and feature scaling of one separation setup (saved as JSON beside its data and models).

    Args:
        sample_rate: Hz; every mixture, reference and output is at this rate.
        n_fft, hop: STFT size and hop (Hann window of n_fft samples, centred frames).
        n_mels, mel_fmin, mel_fmax: the Slaney mel filterbank of the mel features.
        mel_ref_db, mel_min_db: mel dB scaling ``(20 log10 |M| - ref - min) / -min`` clipped to [0, 1].
        lin_ref_db, lin_min_db: the same for the linear spectrum.
    """
    sample_rate: int = 22050
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    mel_fmin: float = 125.0
    mel_fmax: float = 7600.0
    mel_ref_db: float = 20.0
    mel_min_db: float = -100.0
    lin_ref_db: float = 30.0
    lin_min_db: float = -80.0

    @property
    def n_linear(self):
        """Linear-spectrum bins (the Nyquist bin dropped)."""
        return self.n_fft // 2

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """From `to_dict` output; unknown keys are refused (a typo would silently fall back to a default)."""
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown feature settings: {', '.join(sorted(unknown))}")
        return cls(**d)

    @classmethod
    def from_vocoder(cls, cfg):
        """The settings whose mel is a WaveNet vocoder's conditioning: a `wavenet.model.WaveNetConfig` or
        its dict (the ``config`` of a ``vocoder.json``); the linear-spectrum scaling stays the paper's."""
        get = cfg.get if isinstance(cfg, dict) else (lambda k: getattr(cfg, k))
        return cls(sample_rate=int(get("sample_rate")), n_fft=int(get("n_fft")), hop=int(get("hop")),
                   n_mels=int(get("n_mels")), mel_fmin=float(get("mel_fmin")), mel_fmax=float(get("mel_fmax")),
                   mel_ref_db=float(get("ref_level_db")), mel_min_db=float(get("min_level_db")))

    def mel_matches(self, other):
        """True when `other` computes the same mel features (rate, STFT, bands and scaling)."""
        keys = ("sample_rate", "n_fft", "hop", "n_mels", "mel_fmin", "mel_fmax", "mel_ref_db", "mel_min_db")
        return all(np.isclose(getattr(self, k), getattr(other, k)) for k in keys)

    def n_frames(self, n_samples):
        """Number of feature frames for a signal of `n_samples`."""
        return 1 + int(n_samples) // self.hop

    def linear(self, x):
        """Normalised linear log spectrum `[frames, n_linear]` in [0, 1] (float32)."""
        return spectral.linear_log_spectrogram(
            np.asarray(x, np.float32), n_fft=self.n_fft, hop_length=self.hop, ref_level_db=self.lin_ref_db,
            min_level_db=self.lin_min_db, drop_nyquist=True).astype(np.float32)

    def mel(self, x):
        """Normalised log-mel spectrum `[frames, n_mels]` in [0, 1] (float32)."""
        return spectral.log_mel_spectrogram(
            np.asarray(x, np.float32), self.sample_rate, n_fft=self.n_fft, hop_length=self.hop, n_mels=self.n_mels,
            fmin=self.mel_fmin, fmax=self.mel_fmax, ref_level_db=self.mel_ref_db,
            min_level_db=self.mel_min_db).astype(np.float32)

    def mixture(self, x):
        """Encoder inputs of a mixture: {"linear": [frames, n_linear], "mel": [frames, n_mels]}."""
        return {"linear": self.linear(x), "mel": self.mel(x)}

    def linear_to_magnitude(self, lin):
        """Invert `linear` to an STFT magnitude `[frames, n_fft // 2 + 1]` (Nyquist = 0)."""
        db = spectral.denormalize_db(np.asarray(lin, np.float64), self.lin_ref_db, self.lin_min_db)
        mag = spectral.db_to_amplitude(db)
        mag = np.where(np.asarray(lin) <= 0.0, 0.0, mag)  # bins clipped at the floor carry no energy
        return np.concatenate([mag, np.zeros(mag.shape[:-1] + (1,))], axis=-1).astype(np.float32)

    def complex_stft(self, x):
        """Complex STFT `[frames, n_fft // 2 + 1]` with the feature framing."""
        return spectral.stft(np.asarray(x, np.float32), self.n_fft, self.hop)

    def inverse_stft(self, S, length):
        """Inverse of `complex_stft` at the given output length."""
        return spectral.istft(S, self.hop, n_fft=self.n_fft, length=length).astype(np.float32)


def save_settings(folder, fs):
    """Write ``folder/features.json`` (atomically)."""
    write_json(Path(folder) / FEATURES_FILE, fs.to_dict())


def claim_settings(model_dir, fs):
    """Record ``fs`` as the settings of the models in ``model_dir``; refuse a folder whose models were
    trained at other settings (one folder's encoders, B2 and vocoder must share a rate and a mel)."""
    path = Path(model_dir) / FEATURES_FILE
    if path.is_file() and load_settings(model_dir) != fs:
        raise InputError(f"{path}: the models in this folder use other feature settings than the data "
                         f"({load_settings(model_dir).sample_rate} Hz against {fs.sample_rate} Hz, or another STFT "
                         f"or mel); use another --model_dir")
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    save_settings(model_dir, fs)


def settings_of(spec):
    """``"paper"`` -> `PAPER`; a vocoder folder (holding ``vocoder.json``) or a vocoder ``.json`` -> the
    settings of that vocoder's mel (`FeatureSettings.from_vocoder`)."""
    if spec == "paper":
        return PAPER
    path = Path(spec)
    path = path / "vocoder.json" if path.is_dir() else path.with_suffix(".json")
    if not path.is_file():
        raise InputError(f"{path}: vocoder settings not found (--features takes 'paper', a vocoder folder or "
                         f"its .json)")
    try:
        return FeatureSettings.from_vocoder(json.loads(path.read_text())["config"])
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a vocoder's settings ({e!r})") from None


def load_settings(folder):
    """The `FeatureSettings` saved in ``folder/features.json``; `PAPER` for a folder without one (made
    before the settings were saved: those were always the paper's)."""
    path = Path(folder) / FEATURES_FILE
    if not path.is_file():
        return PAPER
    try:
        return FeatureSettings.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as e:
        raise InputError(f"{path}: not valid feature settings ({e})") from None


PAPER = FeatureSettings()
SR, N_FFT, HOP, N_MELS = PAPER.sample_rate, PAPER.n_fft, PAPER.hop, PAPER.n_mels
FMIN, FMAX = PAPER.mel_fmin, PAPER.mel_fmax
n_frames = PAPER.n_frames
linear_features = PAPER.linear
mixture_features = PAPER.mixture
linear_to_magnitude = PAPER.linear_to_magnitude
complex_stft = PAPER.complex_stft
inverse_stft = PAPER.inverse_stft


def mel_features(x, sr=SR):
    """`PAPER`'s normalised 80-band log-mel `[frames, 80]` of ``x`` at rate ``sr``."""
    return FeatureSettings(sample_rate=sr).mel(x) if sr != SR else PAPER.mel(x)
