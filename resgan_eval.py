"""ResGAN generation (``<tag>.pls``, ``<tag>.pls_nonoise``) and evaluation.

Evaluation (one JSON line) on the test set:

* ``mse_pulse``: waveform MSE of the pulse model against the real pulses,
  next to two input-independent baselines: ``mse_zero`` (predicting
  silence) and ``mse_mean_pulse`` (predicting the training set's mean pulse);
* ``lsd_{lf,hf}_{pulse,gan}``: mean log-spectral distance (dB) between the
  generated and the real pulse of each frame, both multiplied by the edge
  window, 800-point spectra, over 0-4 kHz (lf) and 4-8 kHz (hf);
  ``lsd_hf_gan_init`` is the same for an *untrained* generator (same seed),
  the reference that shows what the GAN training itself contributed;
* ``mcd_{impulse,pulse,gan}``: mel-cepstral distortion (dB,
  ``dsp.metrics.mel_cepstral_distortion``) between the original recording
  and speech synthesised (resgan_synthesis) from the test features with the
  three excitations.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import data_utils
import models
import resgan_synthesis
from dsp.audio import InputError, atomic_output, load_audio
from dsp.metrics import log_spectral_distance, mel_cepstral_distortion

N_FFT = 800  # 401 bins of 20 Hz: bin 200 = 4 kHz
SPLIT_BIN = 200


class PulseGenerator:
    """Pulse model + generator in inference mode.

    ``__call__(x [n, L, 22]) -> (pulse [n, 400], gan [n, 400])``: the pulse
    model's output times the edge window, and the generator's output for it
    with N(0, 1) noise from a seeded numpy stream.
    """

    def __init__(self, pulse_model, generator, seed=0, batch_size=512):
        self.pulse_model, self.generator = pulse_model, generator
        self.window = models.edge_window()
        self.rng = np.random.default_rng(seed)
        self.batch_size = batch_size

    def __call__(self, x):
        pulses, gans = [], []
        for s in range(0, len(x), self.batch_size):
            xb = np.asarray(x[s:s + self.batch_size], np.float32)
            p = np.asarray(self.pulse_model(xb, training=False)["wave"]) * self.window
            z = self.rng.standard_normal(p.shape).astype(np.float32)
            g = np.asarray(self.generator([p, z], training=False)["wave"])
            pulses.append(p)
            gans.append(g)
        if not pulses:
            return np.zeros((0, 400), np.float32), np.zeros((0, 400), np.float32)
        return np.concatenate(pulses), np.concatenate(gans)


def load_models(model_dir, seed=0):
    import keras

    model_dir = Path(model_dir)
    for name in ("pulse_model.keras", "generator.keras"):
        if not (model_dir / name).is_file():
            raise InputError(f"{model_dir / name}: missing (train both stages first: 01_run_train.sh)")
    pulse = keras.models.load_model(model_dir / "pulse_model.keras", compile=False)
    gen = keras.models.load_model(model_dir / "generator.keras", compile=False)
    return PulseGenerator(pulse, gen, seed)


def write_float32(path, array):
    with atomic_output(path) as tmp:
        np.asarray(array, np.float32).tofile(tmp)


def generate(data_dir, output_dir, model_dir, context_len=1, seed=0, max_files=None):
    """Write ``<output_dir>/<tag>.pls`` (GAN) and ``<tag>.pls_nonoise`` (pulse
    model), float32 ``[n_frames, 400]`` row-major, for every test utterance.
    Returns ``(n_utterances, n_frames, seconds)``."""
    gen = load_models(model_dir, seed)
    output_dir = Path(output_dir)
    n_utts = n_frames = 0
    t0 = time.time()
    from tqdm import tqdm

    for path in data_utils.list_data_files(data_dir, max_files):
        utts = data_utils.load_inputs_only(path, context_len)
        for tag, x in tqdm(utts.items(), desc=f"generate {Path(path).name}", unit="utt"):
            pulse, gan = gen(x)
            out = output_dir / tag
            out.parent.mkdir(parents=True, exist_ok=True)
            write_float32(out.with_name(out.name + ".pls"), gan)
            write_float32(out.with_name(out.name + ".pls_nonoise"), pulse)
            n_utts += 1
            n_frames += len(x)
    return n_utts, n_frames, time.time() - t0


def read_pls(path):
    """A ``.pls`` / ``.pls_nonoise`` file -> float32 ``[n_frames, 400]``."""
    a = np.fromfile(path, dtype=np.float32)
    if a.size % 400:
        raise InputError(f"{path}: size {a.size} is not a multiple of 400 samples")
    return a.reshape(-1, 400)


def find_recording(wav_dir, tag):
    """``<wav_dir>/<tag>.wav`` (or .flac, searched recursively; tags made of a
    relative path with "_" for "/" are found too); None if absent."""
    wav_dir = Path(wav_dir)
    for ext in (".wav", ".flac"):
        if (wav_dir / f"{tag}{ext}").is_file():
            return wav_dir / f"{tag}{ext}"
    if not wav_dir.is_dir():
        return None
    for path in wav_dir.rglob("*"):
        if path.suffix.lower() in (".wav", ".flac") and (
                path.stem == tag or str(path.relative_to(wav_dir).with_suffix("")).replace("/", "_") == tag):
            return path
    return None


def band_lsd(ref, est):
    """Mean LSD (dB) over 0-4 kHz and 4-8 kHz of pulses ``[n, 400]``."""
    r = np.abs(np.fft.rfft(np.asarray(ref, np.float64), n=N_FFT, axis=-1))
    e = np.abs(np.fft.rfft(np.asarray(est, np.float64), n=N_FFT, axis=-1))
    return (log_spectral_distance(r[:, :SPLIT_BIN], e[:, :SPLIT_BIN]),
            log_spectral_distance(r[:, SPLIT_BIN:], e[:, SPLIT_BIN:]))


def synthesize_utterance(inputs_norm, data, pulse, gan, seed=0):
    """Speech for the three excitations: ``{name: float32 [n * 80]}``."""
    mfcc, f0, voiced = resgan_synthesis.split_features(inputs_norm, data.input_means,
                                                       data.input_stdevs)
    excitations = {"impulse": resgan_synthesis.impulse_pulses(len(mfcc)),
                   "pulse": pulse, "gan": gan}
    return {name: resgan_synthesis.synthesize(p, mfcc, f0, voiced, seed=seed)
            for name, p in excitations.items()}


def training_mean_pulse(data_dir):
    """Mean target pulse ``[400]`` over the training files in ``data_dir``
    (None if there are none): the best input-independent predictor."""
    try:
        files = data_utils.list_data_files(data_dir)
    except InputError:
        return None
    total, count = np.zeros(400), 0
    for data in data_utils.iterate_files(files):
        total += data.targets.sum(axis=0, dtype=np.float64)
        count += len(data.targets)
    return (total / count).astype(np.float32) if count else None


def evaluate(args, max_frames=20000):
    """Compute the metrics on the test set; returns a dict (see module doc)."""
    import keras

    gen = load_models(args.model_dir, args.seed)
    keras.utils.set_random_seed(args.seed)
    init_gen = PulseGenerator(gen.pulse_model, models.build_generator(), args.seed)
    files = data_utils.list_data_files(args.testdata_dir)
    x_all, y_all, utts = [], [], []
    n = 0
    for data in data_utils.iterate_files(files):
        x = data_utils.expand_context(data.inputs, data.seq_lengths, args.rnn_context_len)
        for tag, start, length in zip(data.seq_tags, data.seq_starts, data.seq_lengths):
            if n >= max_frames:
                break
            x_all.append(x[start:start + length])
            y_all.append(data.targets[start:start + length])
            utts.append((tag, data, slice(n, n + length), data.inputs[start:start + length]))
            n += length
    x = np.concatenate(x_all).astype(np.float32)
    y = np.concatenate(y_all).astype(np.float32)
    pulse, gan = gen(x)
    _, gan_init = init_gen(x)
    window = models.edge_window()
    raw_pulse = pulse / np.where(window > 0, window, 1.0)
    real = y * window
    mean_pulse = training_mean_pulse(args.data_dir)
    result = {"frames": int(len(x)),
              "mse_pulse": float(np.mean((raw_pulse - y) ** 2)),
              "mse_zero": float(np.mean(y ** 2)),
              "mse_mean_pulse": (float(np.mean((mean_pulse - y) ** 2))
                                 if mean_pulse is not None else None)}
    (result["lsd_lf_pulse"], result["lsd_hf_pulse"]) = band_lsd(real, pulse)
    (result["lsd_lf_gan"], result["lsd_hf_gan"]) = band_lsd(real, gan)
    result["lsd_hf_gan_init"] = band_lsd(real, gan_init)[1]

    mcd = {"impulse": [], "pulse": [], "gan": []}
    wav_dir = Path(args.wav_dir) if args.wav_dir else None
    done = 0
    for tag, data, rows, inputs in utts:
        if done >= args.eval_utts or wav_dir is None:
            break
        wav = find_recording(wav_dir, tag)
        if wav is None:
            continue
        ref, _ = load_audio(wav, sr=16000)
        speech = synthesize_utterance(inputs, data, pulse[rows], gan[rows], args.seed)
        for name, s in speech.items():
            k = min(len(ref), len(s))
            mcd[name].append(mel_cepstral_distortion(ref[:k], s[:k], 16000))
        done += 1
    for name, values in mcd.items():
        result[f"mcd_{name}"] = float(np.mean(values)) if values else None
    result["mcd_utterances"] = done
    return {k: (float(f"{v:.5g}") if isinstance(v, float) else v) for k, v in result.items()}


def print_json(result):
    print(json.dumps(result), flush=True)
