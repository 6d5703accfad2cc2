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
b2.keras, vocoder.keras (override the vocoder with --vocoder). Any input sample
rate is resampled to 22.05 kHz; outputs are 22.05 kHz wavs of the input's length.
The vocoder samples its output: --seed makes it repeat.
"""
import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

import separation.layers  # noqa: F401  (registers the encoder's layers for load_model)
from dsp.audio import InputError, check_output, cli_main, load_audio, write_wav
from dsp.backend import load_keras_model
from dsp.presets import load_config
from dsp.spectral import griffin_lim
from separation import features as F
from separation.blocks import predict_utterance
from separation.denoising_wavenet import B2Config, denoise
from wavenet.generation import FastWaveNetGenerator
from wavenet.model import load_vocoder

METHODS = ("proposed", "proposed_gt", "b1", "b1_gt", "b2", "ibm_gt")
NEEDS_REFERENCE = ("proposed_gt", "b1_gt", "ibm_gt")
GRIFFIN_LIM_ITERS = 100


def ideal_binary_mask(mixture, reference):
    """IBM-gt: keep STFT bins where the clean speech dominates the noise (mixture - speech)."""
    X = F.complex_stft(mixture)
    S = F.complex_stft(reference)
    N = X - S
    return F.inverse_stft(X * (np.abs(S) > np.abs(N)), len(mixture))


def magnitude_with_phase(magnitude, reference, length):
    """B1-gt: estimated magnitude `[frames, 513]` with the reference's phase."""
    S = F.complex_stft(reference)
    T = min(len(S), len(magnitude))
    return F.inverse_stft(magnitude[:T] * np.exp(1j * np.angle(S[:T])), length)


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
        seed: int, the vocoder's sampling seed.
    """

    def __init__(self, method, model_dir="models/separation", vocoder=None, encoder=None,
                 vocoder_model=None, b2_model=None, gl_iters=GRIFFIN_LIM_ITERS, vocoder_batch=16,
                 progress=True, seed=0):
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        self.method, self.model_dir = method, Path(model_dir)
        self.gl_iters, self.vocoder_batch, self.progress, self.seed = gl_iters, vocoder_batch, progress, seed
        self.encoder, self.voc, self.b2 = encoder, vocoder_model, b2_model
        self.b2_cfg = None
        if method in ("proposed", "b1", "b1_gt") and self.encoder is None:
            self.encoder = self._load_keras(f"encoder_{'proposed' if method == 'proposed' else 'b1'}.keras")
        if method in ("proposed", "proposed_gt") and self.voc is None:
            path = Path(vocoder) if vocoder else self.model_dir / "vocoder.keras"
            if not path.is_file():
                raise InputError(f"{path}: vocoder checkpoint not found (run separation/04_train_vocoder.sh)")
            self.voc = load_vocoder(path)
        if method == "b2":
            if self.b2 is None:
                self.b2 = self._load_keras("b2.keras")
            meta = self.model_dir / "b2.json"
            self.b2_cfg = (B2Config.from_dict(load_config(meta)["config"])
                           if meta.is_file() else getattr(self.b2, "b2_config", None))
            if self.b2_cfg is None:
                raise InputError(f"{meta}: B2 config missing beside b2.keras")

    def _load_keras(self, name):
        path = self.model_dir / name
        if not path.exists():
            raise InputError(f"{path}: model not found (train it with the numbered stages first)")
        return load_keras_model(path, "model", compile=False)

    @property
    def block(self):
        return int(self.encoder.inputs[0].shape[1])

    def estimate_features(self, mixture):
        """Encoder output for a whole mixture: mel `[T, 80]` or linear `[T, 512]`."""
        return predict_utterance(self.encoder, F.mixture_features(mixture), self.block)

    def mels(self, mixture, reference=None):
        if self.method == "proposed_gt":
            return F.mel_features(reference)
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
            outs += [_fit_length(w, n) for w, n in zip(wav, lengths[i:i + self.vocoder_batch])]
        return outs

    def separate_many(self, mixtures, references=None):
        """Separate a list of float32 22.05 kHz mixtures; returns a list of estimates."""
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
            return _fit_length(ideal_binary_mask(mixture, reference), n)
        if self.method == "b2":
            return _fit_length(denoise(self.b2, self.b2_cfg, mixture), n)
        mag = F.linear_to_magnitude(self.estimate_features(mixture))
        if self.method == "b1_gt":
            return _fit_length(magnitude_with_phase(mag, reference, n), n)
        return _fit_length(griffin_lim(mag, n_iter=self.gl_iters, hop_length=F.HOP, n_fft=F.N_FFT,
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
    sep = Separator(a.method, a.model_dir, a.vocoder, vocoder_batch=a.vocoder_batch, seed=a.seed)
    mixtures = [load_audio(i, sr=F.SR, min_samples=F.N_FFT)[0] for i, _, _ in pairs]
    refs = [load_audio(r, sr=F.SR, min_samples=F.N_FFT)[0] if r else None for _, _, r in pairs]
    if a.method in ("proposed", "proposed_gt"):
        outs = sep.separate_many(mixtures, refs)
    else:
        outs = [sep.separate(m, r) for m, r in tqdm(list(zip(mixtures, refs)), desc=a.method,
                                                    unit="utt", disable=len(mixtures) < 2)]
    for (_, o, _), y in zip(pairs, outs):
        write_wav(o, _normalise_peak(y), F.SR)
    print(f"{a.method}: wrote {len(outs)} file(s) to {pairs[0][1].parent}")


if __name__ == "__main__":
    main()
