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
  and speech synthesised (resgan.synthesis) from the test features with the
  three excitations.

Runs on any Keras backend (inference only).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
from tqdm import tqdm

from dsp.audio import InputError, load_audio
from dsp.metrics import log_spectral_distance, mel_cepstral_distortion, significant
from resgan import models, synthesis
from resgan.baselines import PulseBaselines
from resgan.constants import PULSE_LENGTH, SAMPLE_RATE
from resgan.dataset import expand_context, load_inputs_only
from resgan.model_folder import load_networks
from resgan.netcdf import iterate_files, list_data_files, norm_stats

N_FFT = 2 * PULSE_LENGTH  # 401 bins of 20 Hz: bin 200 = 4 kHz
SPLIT_BIN = 200


NOISE_MODES = ("frame", "utterance")


class PulseGenerator:
    """Pulse model + generator in inference mode.

    ``__call__(x [n, L, 22]) -> (pulse [n, 400], gan [n, 400])``: the pulse
    model's output times the edge window, and the generator's output for it
    with N(0, 1) noise from a seeded numpy stream: a new noise vector for
    every frame (``noise="frame"``, as in training), or one for all the frames
    of a call (``"utterance"``; a call is one utterance in copy-synthesis and
    generation). With one vector the GAN's pulses change only as the pulse
    model's do, and the voiced excitation stays quasi-periodic like the real
    residual: on the validation files of ``pretrained/resgan`` STOI rose from
    0.905 to 0.920 at the same 4-8 kHz distance.
    """

    def __init__(self, pulse_model, generator, seed=0, batch_size=512, input_stats=None, noise="frame"):
        if noise not in NOISE_MODES:
            raise ValueError(f"noise must be one of {NOISE_MODES}, got {noise!r}")
        self.pulse_model, self.generator = pulse_model, generator
        self.window = models.edge_window()
        self.rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        self.input_stats = input_stats
        self.noise = noise

    def __call__(self, x, return_raw=False, input_stats=None):
        """``(pulse, gan)``, each ``[n, 400]``; with ``return_raw``, also the pulse
        model's own output before the edge window, ``(pulse, gan, raw)``.

        ``input_stats``: ``(input_means, input_stdevs)`` of ``x``'s normalisation
        (default: the constructor's), for a pitch-window generator's windows.
        """
        stats = input_stats if input_stats is not None else self.input_stats
        pitch_window = models.uses_pitch_window(self.generator)
        if pitch_window and stats is None:
            raise ValueError("a pitch-window generator needs the inputs' normalisation (input_stats)")
        raws, pulses, gans = [], [], []
        # "utterance": one noise vector for every frame of the call, so that consecutive
        # pulses share their noise as the real residual's largely do (module doc)
        shared = self.rng.standard_normal((1, PULSE_LENGTH)).astype(np.float32) if self.noise == "utterance" else None
        for s in range(0, len(x), self.batch_size):
            xb = np.asarray(x[s:s + self.batch_size], np.float32)
            raw = keras.ops.convert_to_numpy(self.pulse_model(xb, training=False)["wave"])
            p = raw * self.window
            z = (np.repeat(shared, len(p), axis=0) if shared is not None
                 else self.rng.standard_normal(p.shape).astype(np.float32))
            inputs = [p, z]
            if pitch_window:
                inputs.append(keras.ops.convert_to_numpy(models.pitch_windows(xb[:, -1, :], *stats)))
            g = keras.ops.convert_to_numpy(self.generator(inputs, training=False)["wave"])
            raws.append(raw)
            pulses.append(p)
            gans.append(g)
        if not pulses:
            empty = np.zeros((0, PULSE_LENGTH), np.float32)
            out = (empty, empty.copy(), empty.copy())
        else:
            out = (np.concatenate(pulses), np.concatenate(gans), np.concatenate(raws))
        return out if return_raw else out[:2]


def load_models(model_dir, seed=0, input_stats=None):
    """`PulseGenerator` of ``<model_dir>/pulse_model.keras`` and ``generator.keras``."""
    pulse, gen = load_networks(model_dir, "train both stages first: 01_run_train.sh")
    return PulseGenerator(pulse, gen, seed, input_stats=input_stats)


def generate(data_dir, out_dir, model_dir, context_len=1, seed=0, max_files=None):
    """Write ``<out_dir>/<tag>.pls`` (GAN) and ``<tag>.pls_nonoise`` (pulse
    model), float32 ``[n_frames, 400]`` row-major, for every test utterance.
    Returns ``(n_utterances, n_frames, seconds)``."""
    gen = load_models(model_dir, seed)
    out_dir = Path(out_dir)
    n_utts = n_frames = 0
    t0 = time.time()
    for path in list_data_files(data_dir, max_files):
        utts = load_inputs_only(path, context_len)
        stats = norm_stats(path)
        for tag, x in tqdm(utts.items(), desc=f"generate {Path(path).name}", unit="utt"):
            pulse, gan = gen(x, input_stats=(stats["input_means"], stats["input_stdevs"]))
            out = out_dir / tag
            out.parent.mkdir(parents=True, exist_ok=True)
            synthesis.write_pls(out.with_name(out.name + ".pls"), gan)
            synthesis.write_pls(out.with_name(out.name + ".pls_nonoise"), pulse)
            n_utts += 1
            n_frames += len(x)
    return n_utts, n_frames, time.time() - t0


def band_lsd(ref, est):
    """Mean LSD (dB) over 0-4 kHz and 4-8 kHz of pulses ``[n, 400]``."""
    r = np.abs(np.fft.rfft(np.asarray(ref, np.float64), n=N_FFT, axis=-1))
    e = np.abs(np.fft.rfft(np.asarray(est, np.float64), n=N_FFT, axis=-1))
    return (log_spectral_distance(r[:, :SPLIT_BIN], e[:, :SPLIT_BIN]),
            log_spectral_distance(r[:, SPLIT_BIN:], e[:, SPLIT_BIN:]))


def synthesize_utterance(inputs_norm, data, pulse, gan, seed=0):
    """Speech for the three excitations: ``{name: float32 [n * 80]}``."""
    mfcc, f0, voiced = synthesis.split_features(inputs_norm, data.input_means, data.input_stdevs)
    excitations = {"impulse": synthesis.impulse_pulses(len(mfcc)), "pulse": pulse, "gan": gan}
    return {name: synthesis.synthesize(p, mfcc, f0, voiced, seed=seed)
            for name, p in excitations.items()}


def training_mean_pulse(data_dir):
    """Mean target pulse ``[400]`` over the training files in ``data_dir``
    (None if there are none): the best input-independent predictor."""
    try:
        files = list_data_files(data_dir)
    except InputError:
        return None
    try:
        return PulseBaselines.from_files(files).mean_all
    except ValueError:  # files without frames
        return None


def evaluate(args, max_frames=20000):
    """Compute the metrics on the test set; returns a dict (see module doc)."""
    files = list_data_files(args.testdata_dir)
    stats = norm_stats(files[0])  # every packaged file holds the corpus-wide statistics
    gen = load_models(args.model_dir, args.seed, (stats["input_means"], stats["input_stdevs"]))
    keras.utils.set_random_seed(args.seed)
    init_gen = PulseGenerator(gen.pulse_model, models.build_generator(
        pitch_window=models.uses_pitch_window(gen.generator)), args.seed, input_stats=gen.input_stats)
    x_all, y_all, utts = [], [], []
    n = 0
    for data in iterate_files(files):
        x = expand_context(data.inputs, data.seq_lengths, args.rnn_context_len)
        for tag, start, length in zip(data.seq_tags, data.seq_starts, data.seq_lengths):
            if n >= max_frames:
                break
            x_all.append(x[start:start + length])
            y_all.append(data.targets[start:start + length])
            utts.append((tag, data, slice(n, n + length), data.inputs[start:start + length]))
            n += length
    x = np.concatenate(x_all).astype(np.float32)
    y = np.concatenate(y_all).astype(np.float32)
    pulse, gan, raw_pulse = gen(x, return_raw=True)
    _, gan_init = init_gen(x)
    real = y * models.edge_window()
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
    wav_dir = Path(args.recordings_dir) if args.recordings_dir else None
    done = 0
    for tag, data, rows, inputs in utts:
        if done >= args.eval_utts or wav_dir is None:
            break
        wav = synthesis.find_recording(wav_dir, tag)
        if wav is None:
            continue
        ref, _ = load_audio(wav, sr=SAMPLE_RATE)
        speech = synthesize_utterance(inputs, data, pulse[rows], gan[rows], args.seed)
        for name, s in speech.items():
            k = min(len(ref), len(s))
            mcd[name].append(mel_cepstral_distortion(ref[:k], s[:k], SAMPLE_RATE))
        done += 1
    for name, values in mcd.items():
        result[f"mcd_{name}"] = float(np.mean(values)) if values else None
    result["mcd_utterances"] = done
    return significant(result)


def print_json(result):
    print(json.dumps(result), flush=True)
