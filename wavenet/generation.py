"""Fast (incremental) WaveNet generation with per-layer queues, and the naive baseline.

The "fast WaveNet" algorithm: a dilated causal conv of layer ``l`` at time ``t``
only needs the layer's inputs at ``t, t - d, ..., t - (k-1) d``. Each layer keeps
a ring buffer of its last ``(k-1) d`` inputs, so one new sample costs one small
matrix product per layer instead of a forward pass over the whole receptive
field. The weights are read from the trained Keras model (no retraining, no
conversion); the mel conditioning is upsampled once per utterance by the
model's own upsampling layer and projected for all layers at once in chunks.
Everything is batched over utterances. The per-sample loop is compiled with
numba (``wavenet.fast_kernels``); the model's own upsampler is the one Keras
call, so it runs on any Keras backend.

Example:
    >>> gen = FastWaveNetGenerator(model, cfg)
    >>> wav = gen.generate(mel[None])          # [1, frames * hop] float32
    >>> wav = vocode(model, cfg, mel)          # [frames * hop]
"""
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from dsp.mulaw import mu_law_decode
from wavenet.distributions import LOG_SCALE_MIN, np_sample_categorical, np_sample_mol
from wavenet.fast_kernels import run_chunk
from wavenet.model import dilations, frame_context, receptive_field
from wavenet.noise_shaping import shape_batch

_CHUNK = 256  # samples per compiled call (conditioning projected, noise drawn, per chunk)
_MULAW_TABLE = mu_law_decode(np.arange(256)).astype(np.float32)   # code -> amplitude


def _usable_cores():
    """CPU cores this process may run on (its affinity where the OS reports it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _mu_law_decode(codes):
    """Code -> amplitude through a 256-entry table of ``dsp.mulaw.mu_law_decode``."""
    return _MULAW_TABLE[codes]


def _check_mel(mel, cfg):
    mel = np.asarray(mel, np.float32)
    if mel.ndim != 3 or mel.shape[-1] != cfg.n_mels:
        raise ValueError(f"mel must be [batch, frames, {cfg.n_mels}], got shape {mel.shape}")
    if mel.shape[1] < 1:
        raise ValueError("mel has no frames")
    if not np.all(np.isfinite(mel)):
        raise ValueError("mel contains NaN or Inf")
    return mel


def _speaker_array(speaker, batch, cfg):
    if cfg.n_speakers <= 0:
        if speaker is not None:
            raise ValueError("this vocoder has no global conditioning (n_speakers=0) but a speaker was given")
        return None
    if speaker is None:
        raise ValueError(f"this vocoder is conditioned on a speaker id (n_speakers={cfg.n_speakers}); pass speaker=")
    speaker = np.broadcast_to(np.asarray(speaker, np.int32).reshape(-1), (batch,))
    if speaker.min() < 0 or speaker.max() >= cfg.n_speakers:
        raise ValueError(f"speaker ids must be in [0, {cfg.n_speakers}), got {speaker.tolist()}")
    return speaker


class FastWaveNetGenerator:
    """Incremental generator reusing a trained :func:`wavenet.model.build_wavenet` model.

    Args:
        model: the Keras WaveNet.
        cfg: its :class:`wavenet.model.WaveNetConfig`.
        workers: int or None; threads generating groups of utterances in parallel (default: the
            CPU cores this process may use). One utterance always runs on one core.

    Example:
        >>> gen = FastWaveNetGenerator(model, cfg)
        >>> wav = gen.generate(mel_batch, temperature=1.0, seed=0)   # [B, frames * hop]
        >>> params = gen.teacher_forced(audio_prev, mel_batch)       # == model(...) within 1e-4
    """

    def __init__(self, model, cfg, workers=None):
        self.model, self.cfg = model, cfg
        self.workers = max(1, int(workers or _usable_cores()))
        f32 = lambda v: np.asarray(v, np.float32)  # noqa: E731
        conv_in = model.get_layer("input_conv")
        self.w_in = f32(conv_in.kernel)[0, 0]           # [R]
        self.b_in = f32(conv_in.bias)                   # [R]
        self.upsample = model.get_layer("upsample")
        self.frame_net = model.get_layer("frame_net") if cfg.frame_layers else None
        self.dil = dilations(cfg)
        R, k = cfg.residual_channels, cfg.kernel_size
        s = math.sqrt(0.5)
        # The residual stream is kept rescaled: v_l = x_l / s^l - B_l with s = sqrt(0.5) and B_l the
        # accumulated (rescaled) residual biases. Then each layer's update is a single add
        # (v_{l+1} = v_l + z_l W_r / s^l), the s^l factor and the constant B_l move into the dilated
        # conv's weights and bias, and the zero padding of the true x_l becomes an initial -B_l.
        self.layers = []
        cond_w, dil_b, glob_w, skip_w = [], [], [], []
        skip_b = 0.0
        offset = np.zeros(R, np.float64)
        for i, d in enumerate(self.dil):
            blk = model.get_layer(f"block_{i:02d}")
            kern = np.asarray(blk.dilated.kernel, np.float64)      # [k, R, G]; tap j sees x[t - (k-1-j) d]
            scale = s ** i
            taps = [kern[k - 1 - m] for m in range(1, k)] + [kern[k - 1]]   # t-d, t-2d, ..., t
            w_out = np.asarray(blk.out.kernel, np.float64)
            b_out = np.asarray(blk.out.bias, np.float64)
            self.layers.append(dict(
                d=d, n_buf=(k - 1) * d, init=f32(-offset),
                w_cat=f32(np.concatenate(taps, axis=0) * scale),    # [k*R, G]
                w_res=f32(w_out[:, :R] / scale)))
            cond_w.append(f32(blk.cond.kernel))
            dil_b.append(f32(np.asarray(blk.dilated.bias, np.float64) + (offset * scale) @ kern.sum(0)))
            skip_w.append(f32(w_out[:, R:]))
            skip_b = skip_b + b_out[R:]
            offset = offset + b_out[:R] / scale
            if cfg.n_speakers > 0:
                glob_w.append(f32(blk.glob.kernel))
        self.cond_w = np.concatenate(cond_w, axis=1)       # [n_mels (+ frame_channels), L*G]
        self.dil_b = np.concatenate(dil_b)                 # [L*G]
        self.glob_w = np.concatenate(glob_w, axis=1) if glob_w else None   # [gin, L*G]
        self.skip_w = np.concatenate(skip_w, axis=0)       # [L*G/2, S]
        self.skip_b = f32(skip_b)
        if cfg.n_speakers > 0:
            self.speaker_table = f32(model.get_layer("speaker_embedding").embeddings)
        self.skip_scale = np.float32(math.sqrt(1.0 / len(self.dil)))
        h1, h2 = model.get_layer("head_1"), model.get_layer("head_out")
        self.w_h1, self.b_h1 = f32(h1.kernel), f32(h1.bias)
        self.w_h2, self.b_h2 = f32(h2.kernel), f32(h2.bias)
        # the compiled loop's view: stacked per-layer weights, ring buffers concatenated at offsets
        self.w_cat = np.ascontiguousarray(np.stack([lay["w_cat"] for lay in self.layers]))    # [L, k*R, G]
        self.w_res = np.ascontiguousarray(np.stack([lay["w_res"] for lay in self.layers]))    # [L, G/2, R]
        self.buf_len = np.array([lay["n_buf"] for lay in self.layers], np.int64)
        self.buf_off = np.concatenate([[0], np.cumsum(self.buf_len)[:-1]]).astype(np.int64)
        self.dil_array = np.asarray(self.dil, np.int64)

    # ------------------------------------------------------------------ helpers
    def conditioning(self, mel):
        """``(frame_proj, sample_cond)``: what is constant within a frame, already projected onto every
        layer's gates (``[B, frames, L*G]``: the frame network's features, and the mel itself with the
        ``repeat`` upsampler), and the learned upsampler's per-sample mel (``[B, frames * hop, n_mels]``
        or None), projected chunk by chunk. Projecting once per frame rather than per sample saves
        ``hop`` times the work of that part."""
        n_mels = self.cfg.n_mels
        frame_part = [] if self.cfg.upsample != "repeat" else [mel]
        if self.frame_net is not None:
            frame_part.append(np.asarray(self.frame_net(mel), np.float32))
        rows = slice(n_mels if self.cfg.upsample != "repeat" else 0, None)
        frame_proj = np.concatenate(frame_part, axis=-1) @ self.cond_w[rows] if frame_part else None
        sample_cond = np.asarray(self.upsample(mel), np.float32) if self.cfg.upsample != "repeat" else None
        return frame_proj, sample_cond

    def _layer_bias(self, speaker):
        """Per-utterance bias of every gate pre-activation: ``[B, L*G]``."""
        if speaker is None:
            return self.dil_b[None]
        return self.dil_b[None] + self.speaker_table[speaker] @ self.glob_w

    def _run(self, *args, **kwargs):
        # The per-sample products are tiny: BLAS threading only adds synchronisation (about 10x slower
        # for 8 utterances on a busy 2-core machine), so run them single-threaded.
        with threadpool_limits(1, user_api="blas"):
            return self._run_loop(*args, **kwargs)

    def _run_loop(self, mel, speaker, audio_prev=None, temperature=1.0, prob_floor=0.0, seed=0, progress=False,
                  desc="wavenet"):
        cfg = self.cfg
        mel = _check_mel(mel, cfg)
        B, frames = mel.shape[:2]
        T = frames * cfg.hop
        speaker = _speaker_array(speaker, B, cfg)
        frame_proj, sample_cond = self.conditioning(mel)   # [B, frames, L*G] / [B, T, n_mels] (or None)
        bias = self._layer_bias(speaker)                   # [B, L*G]
        L, G = len(self.layers), cfg.gate_channels
        mulaw = cfg.output == "mulaw256"
        rng = np.random.default_rng(seed)
        forced = audio_prev is not None
        sampling = not forced and temperature > 0
        # Utterances are independent: split the batch into groups, each with its own state, run in
        # threads (the compiled loop releases the GIL). The noise is drawn for the whole batch, so
        # the audio does not depend on the grouping.
        groups = [g for g in np.array_split(np.arange(B), min(B, self.workers)) if len(g)]
        states = [self._group_state(g, T, audio_prev) for g in groups]
        k_mix = cfg.n_mixtures
        bar = tqdm(total=T, desc=desc, unit="sample", unit_scale=True, leave=False) if progress else None
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            for t0 in range(0, T, _CHUNK):
                n = min(_CHUNK, T - t0)                    # [B, n, L*G] -> [n, L, B, G]
                cond = 0.0 if frame_proj is None else frame_proj[:, np.arange(t0, t0 + n) // cfg.hop]
                if sample_cond is not None:
                    cond = cond + sample_cond[:, t0:t0 + n] @ self.cond_w[:cfg.n_mels]
                proj = (np.swapaxes(cond, 0, 1) + bias).reshape(n, B, L, G).transpose(0, 2, 1, 3)
                gumbel = rng.gumbel(size=(n, B, 256)).astype(np.float32) if sampling and mulaw else None
                u_choice, u_value = np.zeros((n, B, 0)), np.zeros((n, B))
                if not forced and not mulaw:   # drawn in the order np_sample_mol draws them, sample by sample
                    u = rng.uniform(1e-5, 1.0 - 1e-5, (n, B * k_mix + B))
                    u_choice, u_value = u[:, :B * k_mix].reshape(n, B, k_mix), u[:, B * k_mix:]
                jobs = [pool.submit(self._run_group_chunk, st, g, t0, n, proj, gumbel, u_choice, u_value,
                                    mulaw, float(temperature), float(prob_floor)) for g, st in zip(groups, states)]
                for job in jobs:
                    job.result()
                if bar is not None:
                    bar.update(n)
        if bar is not None:
            bar.close()
        key = "params" if forced else "out"
        return np.concatenate([st[key] for st in states]) if len(states) > 1 else states[0][key]

    def _group_state(self, group, T, audio_prev):
        """The compiled loop's state for the utterances ``group``: ring buffers, last sample, outputs."""
        b, R = len(group), self.cfg.residual_channels
        bufs = np.concatenate([np.broadcast_to(lay["init"], (lay["n_buf"], b, R)) for lay in self.layers])
        forced = audio_prev is not None
        return dict(bufs=np.ascontiguousarray(bufs, np.float32), prev=np.zeros(b, np.float32),
                    audio_prev=np.ascontiguousarray(audio_prev[group] if forced else np.zeros((b, 0)), np.float32),
                    out=np.zeros((b, T), np.float32),
                    params=np.zeros((b, T if forced else 0, self.cfg.out_channels), np.float32))

    def _run_group_chunk(self, st, group, t0, n, proj, gumbel, u_choice, u_value, mulaw, temperature, floor):
        """Samples ``t0 .. t0 + n - 1`` of the utterances ``group`` (one compiled call, GIL released)."""
        sl = slice(group[0], group[-1] + 1)
        noise = np.zeros((n, len(group), 0), np.float32) if gumbel is None else gumbel[:, sl]
        run_chunk(t0, n, st["prev"], st["audio_prev"], self.w_in, self.b_in, st["bufs"], self.buf_off,
                  self.buf_len, self.dil_array, self.w_cat, self.w_res, np.ascontiguousarray(proj[:, :, sl]),
                  self.skip_w, self.skip_b, self.skip_scale, self.w_h1, self.b_h1, self.w_h2, self.b_h2, mulaw,
                  _MULAW_TABLE, self.cfg.n_mixtures, temperature, floor, np.ascontiguousarray(noise),
                  np.ascontiguousarray(u_choice[:, sl]), np.ascontiguousarray(u_value[:, sl]),
                  float(LOG_SCALE_MIN), st["out"], st["params"])

    # ------------------------------------------------------------------ API
    def generate(self, mel, temperature=1.0, seed=0, progress=True, speaker=None, prob_floor=0.0):
        """Sample waveforms for a batch of mel spectrograms.

        Args:
            mel: ``[B, frames, n_mels]`` log-mel in [0, 1].
            temperature: float >= 0 (softmax: logits / temperature; mixture: logistic scale x temperature;
                0 = most likely value).
            seed: int, numpy RNG seed.
            progress: bool, tqdm progress bar.
            speaker: int or ``[B]`` ints when the model has global conditioning.
            prob_floor: float >= 0, µ-law softmax only: subtracted from every code's probability
                before sampling (see `wavenet.fast_kernels.run_chunk`); 0: plain sampling.

        Returns:
            ``[B, frames * hop]`` float32 in [-1, 1]; with ``cfg.noise_shaping`` the generated residual
            filtered by each frame's ``1/A(z)`` (`wavenet.noise_shaping.shape_batch`).
        """
        if prob_floor < 0:
            raise ValueError(f"prob_floor must be >= 0, got {prob_floor}")
        out = self._run(mel, speaker, temperature=temperature, prob_floor=prob_floor, seed=seed, progress=progress,
                        desc="fast wavenet")
        return shape_batch(out, mel, self.cfg) if self.cfg.noise_shaping else out

    def teacher_forced(self, audio_prev, mel, speaker=None, progress=False):
        """Per-sample output parameters ``[B, T, C]`` for given previous samples ``audio_prev [B, T]`` or ``[B, T, 1]``.

        The network's own signal: with ``cfg.noise_shaping`` ``audio_prev`` is the residual (no shaping here).
        """
        mel = _check_mel(mel, self.cfg)
        audio_prev = np.asarray(audio_prev, np.float32).reshape(mel.shape[0], -1)
        if audio_prev.shape[1] != mel.shape[1] * self.cfg.hop:
            raise ValueError(f"audio length {audio_prev.shape[1]} != frames x hop = {mel.shape[1] * self.cfg.hop}")
        return self._run(mel, speaker, audio_prev=audio_prev, progress=progress, desc="teacher forced")


def vocode(model, cfg, mel, temperature=1.0, seed=0, progress=True, speaker=None):
    """Vocode one mel spectrogram ``[frames, n_mels]`` -> waveform ``[frames * hop]`` float32."""
    mel = np.asarray(mel, np.float32)
    if mel.ndim != 2:
        raise ValueError(f"mel must be [frames, {cfg.n_mels}], got shape {mel.shape}")
    spk = None if speaker is None else [speaker]
    return FastWaveNetGenerator(model, cfg).generate(mel[None], temperature, seed, progress, spk)[0]


def naive_generate(model, cfg, mel, n_samples=None, temperature=1.0, seed=0, progress=True, speaker=None):
    """Baseline: one full forward pass over the receptive field for every new sample.

    Each step runs the Keras model on a window of ``ceil((RF-1)/hop) + 1`` frames
    ending at the current sample (earlier samples are outside the receptive field,
    later ones are zeros and cannot matter by causality), widened on both sides by the
    frame network's context (`wavenet.model.frame_context`). Same sampling as the fast path.

    Args:
        mel: ``[B, frames, n_mels]``.
        n_samples: generate only the first ``n_samples`` (default all ``frames * hop``).

    Returns:
        ``[B, n_samples]`` float32 (shaped like `FastWaveNetGenerator.generate` with ``cfg.noise_shaping``).
    """
    mel = _check_mel(mel, cfg)
    B, frames = mel.shape[:2]
    T = frames * cfg.hop if n_samples is None else min(int(n_samples), frames * cfg.hop)
    speaker = _speaker_array(speaker, B, cfg)
    ctx = frame_context(cfg)   # the frame network's reach: the window covers it on both sides
    win_frames = min(frames, math.ceil((receptive_field(cfg) - 1) / cfg.hop) + 1 + 2 * ctx)
    win = win_frames * cfg.hop
    rng = np.random.default_rng(seed)
    audio_in = np.zeros((B, frames * cfg.hop + 1), np.float32)  # audio_in[t] = wav[t-1]
    out = np.zeros((B, T), np.float32)
    for t in tqdm(range(T), desc="naive wavenet", unit="sample", leave=False, disable=not progress):
        f0 = max(0, min(t // cfg.hop + 1 + ctx, frames) - win_frames)
        s0 = f0 * cfg.hop
        inputs = {"audio": audio_in[:, s0:s0 + win, None], "mel": mel[:, f0:f0 + win_frames]}
        if speaker is not None:
            inputs["speaker"] = speaker[:, None]
        p = np.asarray(model.predict_on_batch(inputs))[:, t - s0]
        if cfg.output == "mulaw256":
            x = _mu_law_decode(np_sample_categorical(p, temperature, rng))
        else:
            x = np_sample_mol(p, cfg.n_mixtures, temperature, rng)
        out[:, t] = x
        audio_in[:, t + 1] = x
    return shape_batch(out, mel, cfg) if cfg.noise_shaping else out
