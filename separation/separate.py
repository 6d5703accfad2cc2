"""Separate speech from a noisy mixture with one of the paper's methods.

    python -m separation.separate --method proposed --input mix.wav --output out.wav
    python -m separation.separate --method b1_gt --input mix.wav --reference clean.wav --output out.wav
    python -m separation.separate --method b2 --input_dir data/separation/test/mix \
        --out_dir output/separation/b2

Methods (one process loads everything a method needs, encoder and vocoder together):
  proposed     encoder -> clean mel estimate -> WaveNet vocoder (fast generation)
  proposed_gt  the clean reference's mel -> WaveNet vocoder (needs --reference)
  b1           B1 encoder -> linear magnitude estimate -> Griffin-Lim (100 iterations)
  b1_gt        B1 magnitude estimate with the clean reference's phase (needs --reference)
  b2           denoising WaveNet on the waveform
  ibm_gt       ideal binary mask |S| > |N| from the reference (needs --reference)
Models are loaded by name from --model_dir: encoder_proposed.keras, encoder_b1.keras,
b2.keras, vocoder.keras (override the vocoder with --vocoder), and features.json, the rate and
features they were trained at (the paper's 22.05 kHz when absent). Any input is downmixed and
resampled to that rate; each output is resampled back to its mixture's rate and length. The vocoder's
samples are pulled toward the mel they were generated from (`--postfilter_iters`, 0: off).
The vocoder samples its output: --seed makes it repeat.
"""
import argparse
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

import separation.layers  # noqa: F401  (registers the encoder's layers for load_model)
from dsp.audio import InputError, check_output, cli_main, load_audio, resample, write_wav
from dsp.backend import load_keras_model
from dsp.presets import load_config
from dsp.pghi import fgla_refine
from dsp.spectral import griffin_lim
from separation import features as F
from separation.blocks import predict_utterance
from separation.denoising_wavenet import B2Config, denoise
from wavenet.features import mel_postfilter
from wavenet.generation import FastWaveNetGenerator
from wavenet.model import load_vocoder

METHODS = ("proposed", "proposed_gt", "b1", "b1_gt", "b2", "ibm_gt")
NEEDS_REFERENCE = ("proposed_gt", "b1_gt", "ibm_gt")
GRIFFIN_LIM_ITERS = 100
GL_INITS = ("random", "mixture")


def ideal_binary_mask(mixture, reference, fs=F.PAPER):
    """IBM-gt: keep STFT bins where the clean speech dominates the noise (mixture - speech)."""
    X = fs.complex_stft(mixture)
    S = fs.complex_stft(reference)
    N = X - S
    return fs.inverse_stft(X * (np.abs(S) > np.abs(N)), len(mixture))


def magnitude_with_phase(magnitude, reference, length, fs=F.PAPER):
    """B1-gt: estimated magnitude `[frames, n_fft // 2 + 1]` with the reference's phase."""
    S = fs.complex_stft(reference)
    T = min(len(S), len(magnitude))
    return fs.inverse_stft(magnitude[:T] * np.exp(1j * np.angle(S[:T])), length)


def _fit_length(y, n):
    y = np.asarray(y, np.float32).reshape(-1)[:n]
    return np.pad(y, (0, n - len(y)))


class Separator:
    """Loads the models of a method once and separates many mixtures.

    Args:
        method: one of METHODS.
        model_dir: folder with encoder_<kind>.keras, b2.keras, vocoder.keras.
        vocoder: path of the vocoder checkpoint (default <model_dir>/vocoder.keras).
        encoder / vocoder_model / b2_model: already-built models (injected, e.g. in tests);
            `vocoder_model` is a (model, WaveNetConfig) pair.
        features: the `FeatureSettings` of the models (default: ``model_dir/features.json``; for a folder
            without one, the vocoder's for proposed_gt, which has no encoder, else the paper's); the
            vocoder's mel must be the same.
        postfilter_iters: iterations of the vocoder's mel post-filter toward the mel it is given
            (`wavenet.features.mel_postfilter`); 0: the raw samples.
        gl_iters: B1's Griffin-Lim iterations.
        gl_init: B1's starting phase: "random" (the paper) or "mixture" (the mixture's own phase,
            refined by fast Griffin-Lim: `dsp.pghi.fgla_refine`).
        seed: int, the vocoder's sampling seed.
    """

    def __init__(self, method, model_dir="models/separation", vocoder=None, encoder=None,
                 vocoder_model=None, b2_model=None, gl_iters=GRIFFIN_LIM_ITERS, vocoder_batch=16,
                 progress=True, seed=0, features=None, postfilter_iters=3, gl_init="random"):
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        self.method, self.model_dir = method, Path(model_dir)
        self.fs = F.load_settings(self.model_dir) if features is None else features
        self.postfilter_iters = postfilter_iters
        if gl_init not in GL_INITS:
            raise InputError(f"unknown Griffin-Lim start {gl_init!r}; choose from {', '.join(GL_INITS)}")
        self.gl_init = gl_init
        self.gl_iters, self.vocoder_batch, self.progress, self.seed = gl_iters, vocoder_batch, progress, seed
        self.encoder, self.voc, self.b2 = encoder, vocoder_model, b2_model
        self.b2_cfg = None
        if method in ("proposed", "b1", "b1_gt") and self.encoder is None:
            name = f"encoder_{'proposed' if method == 'proposed' else 'b1'}.keras"
            self.encoder = self._load_keras(name)
            sizes = {t.name: t.shape[-1] for t in self.encoder.inputs}
            if sizes != {"linear": self.fs.n_linear, "mel": self.fs.n_mels}:
                raise InputError(f"{self.model_dir / name}: input sizes {sizes} do not fit the folder's features "
                                 f"({self.fs.n_linear} linear bins, {self.fs.n_mels} mel bands)")
        if method in ("proposed", "proposed_gt") and self.voc is None:
            path = Path(vocoder) if vocoder else self.model_dir / "vocoder.keras"
            if not path.is_file():
                raise InputError(f"{path}: vocoder checkpoint not found (run separation/04_train_vocoder.sh)")
            self.voc = load_vocoder(path)
        if method in ("proposed", "proposed_gt"):
            if method == "proposed_gt" and features is None and not (self.model_dir / F.FEATURES_FILE).is_file():
                self.fs = F.FeatureSettings.from_vocoder(self.voc[1])   # no encoder, no settings: the vocoder's
            self._check_vocoder(vocoder or self.model_dir / "vocoder.keras")
        if method == "b2":
            if self.b2 is None:
                self.b2 = self._load_keras("b2.keras")
            meta = self.model_dir / "b2.json"
            self.b2_cfg = (B2Config.from_dict(load_config(meta)["config"])
                           if meta.is_file() else getattr(self.b2, "b2_config", None))
            if self.b2_cfg is None:
                raise InputError(f"{meta}: B2 config missing beside b2.keras")

    def _check_vocoder(self, path):
        cfg = self.voc[1]
        if not F.FeatureSettings.from_vocoder(cfg).mel_matches(self.fs):
            raise InputError(f"{path}: the vocoder's rate or mel ({cfg.sample_rate} Hz, n_fft {cfg.n_fft}, hop "
                             f"{cfg.hop}, {cfg.mel_fmin:g}-{cfg.mel_fmax:g} Hz) differs from the models' features "
                             f"({self.fs.sample_rate} Hz, n_fft {self.fs.n_fft}, hop {self.fs.hop}, "
                             f"{self.fs.mel_fmin:g}-{self.fs.mel_fmax:g} Hz)")

    def _load_keras(self, name):
        path = self.model_dir / name
        if not path.exists():
            raise InputError(f"{path}: model not found (train it with the numbered stages first)")
        return load_keras_model(path, "model", compile=False)

    @property
    def block(self):
        return int(self.encoder.inputs[0].shape[1])

    def estimate_features(self, mixture):
        """Encoder output for a whole mixture: mel `[T, n_mels]` or linear `[T, n_linear]`."""
        return predict_utterance(self.encoder, self.fs.mixture(mixture), self.block)

    def mels(self, mixture, reference=None):
        if self.method == "proposed_gt":
            return self.fs.mel(reference)
        return self.estimate_features(mixture)

    def vocode(self, mels, lengths):
        """Batched fast WaveNet generation; mels padded to the longest, outputs trimmed
        (every batch samples with the same `seed`)."""
        model, cfg = self.voc
        gen = FastWaveNetGenerator(model, cfg)
        outs = []
        for i in range(0, len(mels), self.vocoder_batch):
            group = mels[i:i + self.vocoder_batch]
            T = max(len(m) for m in group)
            batch = np.stack([np.pad(m, ((0, T - len(m)), (0, 0)), mode="edge") for m in group])
            wav = gen.generate(batch.astype(np.float32), seed=self.seed,
                               progress=self.progress)
            for w, m, n in zip(wav, group, lengths[i:i + self.vocoder_batch]):
                w = w[:len(m) * cfg.hop]
                if self.postfilter_iters:
                    # pulled toward the mel it was given, whole hops (the vocoder's framing)
                    w = mel_postfilter(w, m[:len(w) // cfg.hop], cfg, n_iter=self.postfilter_iters)
                outs.append(_fit_length(w, n))
        return outs

    def separate_many(self, mixtures, references=None):
        """Separate a list of float32 mixtures at the models' rate; returns a list of estimates."""
        references = references or [None] * len(mixtures)
        if self.method in NEEDS_REFERENCE and any(r is None for r in references):
            raise InputError(f"method {self.method} needs the clean reference (--reference / --reference_dir)")
        if self.method in ("proposed", "proposed_gt"):
            mels = [self.mels(m, r) for m, r in zip(mixtures, references)]
            return self.vocode(mels, [len(m) for m in mixtures])
        return [self.separate(m, r) for m, r in zip(mixtures, references)]

    def separate(self, mixture, reference=None):
        """Separate one mixture `[n]` -> estimate `[n]` float32."""
        n = len(mixture)
        if reference is not None:
            reference = _fit_length(reference, n)
        if self.method in ("proposed", "proposed_gt"):
            return self.separate_many([mixture], [reference])[0]
        if self.method == "ibm_gt":
            return _fit_length(ideal_binary_mask(mixture, reference, self.fs), n)
        if self.method == "b2":
            return _fit_length(denoise(self.b2, self.b2_cfg, mixture), n)
        mag = self.fs.linear_to_magnitude(self.estimate_features(mixture))
        if self.method == "b1_gt":
            return _fit_length(magnitude_with_phase(mag, reference, n, self.fs), n)
        if self.gl_init == "mixture":   # fast Griffin-Lim started from the mixture's phase
            phase = np.angle(self.fs.complex_stft(mixture))[:len(mag)]
            mag = mag[:len(phase)]
            phase = fgla_refine(mag, phase, self.gl_iters, self.fs.hop, self.fs.n_fft)
            return _fit_length(self.fs.inverse_stft(mag * np.exp(1j * phase), n), n)
        return _fit_length(griffin_lim(mag, n_iter=self.gl_iters, hop_length=self.fs.hop, n_fft=self.fs.n_fft,
                                       length=n), n)


def _normalise_peak(y):
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    return y * (0.999 / peak) if peak > 0.999 else y


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--input", help="mixture wav")
    p.add_argument("--output", help="separated wav")
    p.add_argument("--reference", help="clean speech wav (gt methods)")
    p.add_argument("--input_dir", help="folder of mixture wavs (batch mode)")
    p.add_argument("--out_dir", help="folder for the separated wavs (batch mode)")
    p.add_argument("--reference_dir", help="folder of clean wavs matched by name (gt methods)")
    p.add_argument("--model_dir", default="models/separation",
                   help="encoder_{proposed,b1}.keras, b2.keras, vocoder.keras (default: models/separation)")
    p.add_argument("--vocoder", default=None, help="vocoder checkpoint (default <model_dir>/vocoder.keras)")
    p.add_argument("--vocoder_batch", type=int, default=16, help="utterances vocoded at once")
    p.add_argument("--limit", type=int, default=None, help="batch mode: first N files only")
    p.add_argument("--postfilter_iters", type=int, default=3,
                   help="proposed methods: mel post-filter iterations on the vocoder's output (0: raw samples)")
    p.add_argument("--gl_init", choices=GL_INITS, default="random",
                   help="b1: Griffin-Lim's starting phase, random (the paper) or the mixture's")
    p.add_argument("--seed", type=int, default=0, help="the vocoder's sampling seed")
    return p


@cli_main
def main(argv=None):
    a = build_parser().parse_args(argv)
    if bool(a.input) == bool(a.input_dir):
        raise InputError("give either --input/--output or --input_dir/--out_dir")
    if a.input:
        if not a.output:
            raise InputError("--output is required with --input")
        pairs = [(Path(a.input), Path(a.output), Path(a.reference) if a.reference else None)]
    else:
        if not a.out_dir:
            raise InputError("--out_dir is required with --input_dir")
        files = sorted(Path(a.input_dir).glob("*.wav"))[: a.limit]
        if not files:
            raise InputError(f"{a.input_dir}: no .wav files")
        Path(a.out_dir).mkdir(parents=True, exist_ok=True)
        pairs = [(f, Path(a.out_dir) / f.name,
                  Path(a.reference_dir) / f.name if a.reference_dir else None) for f in files]
    if a.method in NEEDS_REFERENCE and any(r is None for _, _, r in pairs):
        raise InputError(f"method {a.method} needs --reference (or --reference_dir)")
    for (_, o, _) in pairs:
        check_output(o)
    # the models first: a bad checkpoint fails before the audio is read and resampled
    if a.postfilter_iters < 0:
        raise InputError(f"--postfilter_iters must be >= 0, got {a.postfilter_iters}")
    sep = Separator(a.method, a.model_dir, a.vocoder, vocoder_batch=a.vocoder_batch, seed=a.seed,
                    postfilter_iters=a.postfilter_iters, gl_init=a.gl_init)
    sr, n_fft = sep.fs.sample_rate, sep.fs.n_fft
    mixtures = [load_audio(i, sr=sr, min_samples=n_fft)[0] for i, _, _ in pairs]
    # every output goes back to its mixture's own rate and length (the files are valid: just read)
    shapes = [(info.samplerate, info.frames) for info in (sf.info(str(i)) for i, _, _ in pairs)]
    refs = [load_audio(r, sr=sr, min_samples=n_fft)[0] if r else None for _, _, r in pairs]
    if a.method in ("proposed", "proposed_gt"):
        outs = sep.separate_many(mixtures, refs)
    else:
        outs = [sep.separate(m, r) for m, r in tqdm(list(zip(mixtures, refs)), desc=a.method,
                                                    unit="utt", disable=len(mixtures) < 2)]
    for (_, o, _), y, (rate, length) in zip(pairs, outs, shapes):
        write_wav(o, _normalise_peak(_fit_length(resample(y, sr, rate), length)), rate)
    print(f"{a.method}: wrote {len(outs)} file(s) to {pairs[0][1].parent}")


if __name__ == "__main__":
    main()
