"""ResGAN judged on recordings it never saw (``train.py --mode evaluate --wav_dir DIR``).

Every recording is analysed as packaging would (`resgan.recordings`), its inputs
normalised with the model folder's own statistics, and its pulses predicted.
One JSON line holds:

* ``n_files``, ``n_frames``, ``n_voiced`` (frames with a voiced pulse);
* ``mse_pulse_voiced``, ``mse_zero_voiced``, ``mse_mean_pulse_voiced``: waveform
  MSE on voiced frames of the pulse model's output, of silence and of the
  training set's mean voiced pulse; the same over all frames with the mean
  over all training frames (``*_all``);
* ``lsd_{lf,hf}_{pulse,gan}``: log-spectral distance (dB) between the
  edge-windowed real pulse and the pulse model's (``pulse``) or the GAN's
  (``gan``) over 0-4 kHz (``lf``) and 4-8 kHz (``hf``), voiced frames
  (`resgan.evaluation.band_lsd`);
* ``mcd_{excitation}``, ``stoi_{excitation}``: mel-cepstral distortion (dB) and
  STOI of the copy-synthesised speech against the recording, mean over the files,
  for the excitations ``impulse`` (the paper's baseline), ``pulse``, ``gan`` and
  ``residual`` (the recording's own pulses: the ceiling of this vocoder).
"""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from dsp.metrics import mel_cepstral_distortion, significant, stoi
from resgan import figures, models
from resgan import synthesis as rs
from resgan.baselines import pulse_mse
from resgan.constants import SAMPLE_RATE
from resgan.dataset import expand_context
from resgan.evaluation import PulseGenerator, band_lsd
from resgan.recordings import resynthesize

EXCITATIONS = ("impulse", "pulse", "gan", "residual")


def copy_synthesis(folder, recording, seed=0, generator=None):
    """Speech of a `resgan.recordings.Recording` from its MFCCs, F0 and voicing.

    Args:
        folder: `resgan.model_folder.ModelFolder`.
        recording: `resgan.recordings.Recording`.
        generator: a `PulseGenerator` to reuse (its noise stream continues).
    Returns:
        ``(speech, pulses)``: ``{excitation: float32 [samples]}`` (the recording's
        length) and ``{"pulse", "gan", "raw": [frames, 400]}``.
    """
    gen = generator or PulseGenerator(folder.pulse_model, folder.generator, seed,
                                         input_stats=folder.stats.input_stats)
    feats = recording.features
    x = expand_context(folder.stats.normalise(feats.inputs), [len(feats.inputs)], folder.context_len)
    pulse, gan, raw = gen(x, return_raw=True)
    excitations = {"impulse": rs.impulse_pulses(len(x)), "pulse": pulse, "gan": gan,
                   "residual": feats.targets}
    return resynthesize(recording, excitations, seed), {"pulse": pulse, "gan": gan, "raw": raw}


def evaluate_recordings(folder, recordings, seed=0, progress=True, figure=None, noise="frame"):
    """The metrics of the module doc over checked recordings; a dict for one JSON line.

    Args:
        folder: `resgan.model_folder.ModelFolder`.
        recordings: `resgan.recordings.Recording` list.
        figure: optional PNG path: real, pulse-model and GAN pulses of the voiced
            frames of each speaker (a recording's folder name), `figures.plot_speaker_pulses`.
        noise: the GAN's noise, ``"frame"`` or ``"utterance"`` (`PulseGenerator`).
    """
    gen = PulseGenerator(folder.pulse_model, folder.generator, seed,
                         input_stats=folder.stats.input_stats, noise=noise)
    window = models.edge_window()
    ys, voiced, raws, pulses, gans = [], [], [], [], []
    speech_scores = {f"{m}_{e}": [] for m in ("mcd", "stoi") for e in EXCITATIONS}
    for rec in tqdm(recordings, desc="evaluate", unit="file", disable=not progress):
        speech, p = copy_synthesis(folder, rec, seed, gen)
        ys.append(rec.features.targets)
        voiced.append(rec.features.voiced)
        raws.append(p["raw"])
        pulses.append(p["pulse"])
        gans.append(p["gan"])
        for e, s in speech.items():
            speech_scores[f"mcd_{e}"].append(mel_cepstral_distortion(rec.audio, s, SAMPLE_RATE))
            speech_scores[f"stoi_{e}"].append(stoi(rec.audio, s, SAMPLE_RATE))
    y, v = np.concatenate(ys), np.concatenate(voiced).astype(bool)
    raw, pulse, gan = np.concatenate(raws), np.concatenate(pulses), np.concatenate(gans)
    result = {"n_files": len(recordings), "n_frames": int(len(y)), "n_voiced": int(v.sum())}
    model = pulse_mse(raw, y, v)
    base = folder.stats.baselines.scores(y, v)
    for frames in ("voiced", "all"):
        result[f"mse_pulse_{frames}"] = model.get(f"mse_pulse_{frames}")
        result[f"mse_zero_{frames}"] = base.get(f"mse_zero_{frames}")
        result[f"mse_mean_pulse_{frames}"] = base.get(f"mse_mean_pulse_{frames}")
    if result["mse_pulse_voiced"] is not None:
        result["mse_ratio_mean_pulse_voiced"] = result["mse_pulse_voiced"] / result["mse_mean_pulse_voiced"]
    real = y[v] * window
    if figure is not None:
        _speaker_figure(figure, recordings, y * window, pulse, gan, v)
    result["lsd_lf_pulse"], result["lsd_hf_pulse"] = band_lsd(real, pulse[v])
    result["lsd_lf_gan"], result["lsd_hf_gan"] = band_lsd(real, gan[v])
    result.update({k: float(np.mean(vals)) for k, vals in speech_scores.items()})
    return significant(result)


def _speaker_figure(path, recordings, real, pulse, gan, voiced):
    speakers = np.concatenate([[r.path.parent.name] * len(r.features.targets) for r in recordings])
    groups = {}
    for name in dict.fromkeys(speakers):  # in order of appearance
        keep = (speakers == name) & voiced
        if keep.any():
            groups[name] = {"real": real[keep], "pulse model": pulse[keep], "pulse model + GAN": gan[keep]}
    if groups:
        figures.plot_speaker_pulses(path, groups, "voiced pulses of held-out recordings, "
                                    "edge-windowed: real vs pulse model vs GAN")
