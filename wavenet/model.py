"""Mel-conditioned WaveNet vocoder (Keras 3; keras.ops only, any backend).

Model: µ-law companding (softmax head only) -> 1x1 input conv -> ``n_layers``
gated residual blocks with dilations ``1, 2, ..., 2^(n_layers/n_stacks - 1)``
repeated ``n_stacks`` times, each locally conditioned on the upsampled mel
spectrogram (and optionally on a speaker embedding) -> sum of skips (scaled by
``sqrt(1/n_layers)``) -> ReLU -> 1x1 -> ReLU -> 1x1 output head.

Inputs (a dict): ``"audio"`` ``[B, T, 1]`` the *previous* samples (float in
[-1, 1]; ``audio[t] = wav[t-1]``), ``"mel"`` ``[B, T // hop, n_mels]`` log-mel
in [0, 1] (`wavenet.features.log_mel`), and, if ``n_speakers > 0``,
``"speaker"`` ``[B, 1]`` int. Output: ``[B, T, C]`` distribution parameters with
``C = 256`` logits (``output="mulaw256"``) or ``3 * n_mixtures`` (``output="mol"``).

Named configurations are the preset files ``wavenet/presets/{default,paper}.json``
(`WaveNetConfig.default()`, `WaveNetConfig.paper()`, `WaveNetConfig.from_preset`).
A checkpoint is ``NAME.keras`` with ``NAME.json`` beside it: ``{"config": {...}, ...}``
plus what the trainer adds (epoch, loss, the resolved command-line ``args``).

Example:
    >>> cfg = WaveNetConfig.default()
    >>> model = build_wavenet(cfg)
    >>> y = model({"audio": np.zeros((1, 512, 1)), "mel": np.zeros((1, 2, 80))})  # [1, 512, 256]

Fast incremental generation lives in :mod:`wavenet.generation`.
"""
import dataclasses
import math
from pathlib import Path

import keras
import numpy as np

from dsp.audio import InputError, write_json
from dsp.backend import load_keras_model
from dsp.mulaw import mu_law_decode, mu_law_encode
from dsp.presets import load_config, load_preset
from dsp.resume import save_checkpoint
from wavenet import PRESET_DIR
from wavenet.distributions import MixtureLogisticLoss, MuLawCrossEntropy
from wavenet.layers import ConditionUpsampler, FrameConditioner, GatedResidualBlock, MuLawCompand

OUTPUTS = ("mulaw256", "mol")
UPSAMPLES = ("transposed", "repeat")


@dataclasses.dataclass
class WaveNetConfig:
    """Hyper-parameters of the WaveNet vocoder (saved as JSON beside every checkpoint).

    The field defaults are the ``default`` preset's model (a test keeps them equal).

    Args:
        n_layers: int, total residual layers (multiple of ``n_stacks``).
        n_stacks: int, dilation cycles.
        kernel_size: int, 2 or 3.
        residual_channels: int.
        gate_channels: int, output width of each dilated conv; the gated unit has half of it.
        skip_channels: int.
        n_mels: int, conditioning bands (80).
        hop: int, samples per mel frame (256 at 22.05 kHz).
        upsample: ``"transposed"`` (learned) or ``"repeat"``.
        upsample_scales: list of int with product ``hop``.
        output: ``"mulaw256"`` (256-way softmax over µ-law codes) or ``"mol"`` (logistic mixture).
        n_mixtures: int, components of the logistic mixture.
        n_speakers: int, 0 disables global conditioning.
        global_channels: int, width of the speaker embedding.
        sample_rate: int, Hz.
        mel_fmin, mel_fmax, n_fft, ref_level_db, min_level_db: mel analysis parameters.
        noise_shaping: bool, model the LPC residual of the waveform (`wavenet.noise_shaping`): the
            network's input and target are whitened by an all-pole fit to each frame's mel, and
            generation filters its output back through ``1/A(z)``. Older configs load as False.
        lpc_order: int, order of that per-frame LPC filter.
        lpc_gamma: float in (0, 1], bandwidth expansion ``a_k *= lpc_gamma ** k`` (1: none).
        frame_layers: int, convolutions of the frame-rate conditioning network
            (`wavenet.layers.FrameConditioner`) whose features join the mel; 0 (older configs): none.
        frame_channels: int, their width.
        frame_kernel: int, odd, their kernel over frames.
    """

    n_layers: int = 16
    n_stacks: int = 2
    kernel_size: int = 3
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    n_mels: int = 80
    hop: int = 256
    upsample: str = "transposed"
    upsample_scales: list = dataclasses.field(default_factory=lambda: [4, 4, 4, 4])
    output: str = "mulaw256"
    n_mixtures: int = 10
    n_speakers: int = 0
    global_channels: int = 16
    sample_rate: int = 22050
    n_fft: int = 1024
    mel_fmin: float = 125.0
    mel_fmax: float = 7600.0
    ref_level_db: float = 20.0
    min_level_db: float = -100.0
    noise_shaping: bool = False
    lpc_order: int = 16
    lpc_gamma: float = 0.9
    frame_layers: int = 0
    frame_channels: int = 128
    frame_kernel: int = 3

    def __post_init__(self):
        self.upsample_scales = [int(s) for s in self.upsample_scales]
        self.noise_shaping = bool(self.noise_shaping)
        self.lpc_order, self.lpc_gamma = int(self.lpc_order), float(self.lpc_gamma)
        self.validate()

    def validate(self):
        if self.lpc_order < 1:
            raise ValueError(f"lpc_order must be >= 1, got {self.lpc_order}")
        if not 0.0 < self.lpc_gamma <= 1.0:
            raise ValueError(f"lpc_gamma must be in (0, 1], got {self.lpc_gamma}")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.upsample not in UPSAMPLES:
            raise ValueError(f"upsample must be one of {UPSAMPLES}, got {self.upsample!r}")
        if self.n_layers < 1 or self.n_stacks < 1 or self.n_layers % self.n_stacks:
            raise ValueError(f"n_layers ({self.n_layers}) must be a positive multiple of n_stacks ({self.n_stacks})")
        if self.kernel_size < 2:
            raise ValueError(f"kernel_size must be >= 2, got {self.kernel_size}")
        if self.gate_channels % 2:
            raise ValueError(f"gate_channels must be even, got {self.gate_channels}")
        if self.frame_layers < 0 or self.frame_channels < 1 or self.frame_kernel % 2 == 0:
            raise ValueError(f"frame_layers must be >= 0, frame_channels >= 1 and frame_kernel odd, got "
                             f"{self.frame_layers}, {self.frame_channels}, {self.frame_kernel}")
        if self.upsample == "transposed" and math.prod(self.upsample_scales) != self.hop:
            raise ValueError(f"upsample_scales {self.upsample_scales} multiply to "
                             f"{math.prod(self.upsample_scales)}, not hop {self.hop}")

    @classmethod
    def from_preset(cls, name, **overrides):
        """The model settings of a preset file (its other keys are training flags), then `overrides`.

        Args:
            name: a preset in ``wavenet/presets`` (``"default"``, ``"paper"``) or a ``.json`` path.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        settings = {k: v for k, v in load_preset(PRESET_DIR, name).items() if k in names and v is not None}
        settings.update(overrides)
        return cls(**settings)

    @classmethod
    def default(cls, **overrides):
        """Small CPU-trainable model: 16 layers / 2 stacks, kernel 3, 64/128/64 channels, µ-law softmax."""
        return cls.from_preset("default", **overrides)

    @classmethod
    def paper(cls, **overrides):
        """The separation paper's vocoder: 24 layers / 4 stacks, 512 residual and gate, 256 skip, MoL-10."""
        return cls.from_preset("paper", **overrides)

    @property
    def out_channels(self):
        return 256 if self.output == "mulaw256" else 3 * self.n_mixtures

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown WaveNetConfig fields: {sorted(unknown)}")
        return cls(**d)


def dilations(cfg):
    """Dilation of every residual layer, e.g. ``[1, 2, ..., 128, 1, 2, ..., 128]``."""
    per_stack = cfg.n_layers // cfg.n_stacks
    return [2 ** i for _ in range(cfg.n_stacks) for i in range(per_stack)]


def frame_context(cfg):
    """Mel frames either side of a frame that its conditioning depends on (0 without a frame network)."""
    return cfg.frame_layers * (cfg.frame_kernel // 2)


def grow_frame_net(model, cfg, frame_layers, frame_channels, frame_kernel=3):
    """A copy of ``model`` (no frame network) with one added, computing the same function at first.

    Every weight is copied; each block's conditioning projection gets zero rows for the new
    features, so the new network learns from the first step (its outputs are not zero) while
    the vocoder's output is unchanged until those rows move.

    Returns:
        ``(model, cfg)`` of the grown vocoder.
    """
    if cfg.frame_layers:
        raise ValueError("the vocoder already has a frame network")
    grown_cfg = dataclasses.replace(cfg, frame_layers=int(frame_layers), frame_channels=int(frame_channels),
                                    frame_kernel=int(frame_kernel))
    grown = build_wavenet(grown_cfg, name=model.name)
    for layer in model.layers:
        target = grown.get_layer(layer.name)
        for src, dst in zip(layer.weights, target.weights):
            value = np.asarray(src)
            if value.shape != tuple(dst.shape):   # a block's conditioning kernel [n_mels, G] -> [n_mels + C, G]
                value = np.concatenate([value, np.zeros((dst.shape[0] - value.shape[0],) + value.shape[1:],
                                                        value.dtype)])
            dst.assign(value)
    return grown, grown_cfg


def receptive_field(cfg):
    """Receptive field in samples of the audio input: ``(kernel_size - 1) * sum(dilations) + 1``."""
    return (cfg.kernel_size - 1) * sum(dilations(cfg)) + 1


def build_wavenet(cfg, name="wavenet"):
    """Build the functional Keras model described in the module docstring."""
    cfg.validate()
    audio = keras.Input((None, 1), name="audio")
    mel = keras.Input((None, cfg.n_mels), name="mel")
    inputs = {"audio": audio, "mel": mel}
    x = audio
    if cfg.output == "mulaw256":
        x = MuLawCompand(name="mulaw_compand")(x)
    x = keras.layers.Conv1D(cfg.residual_channels, 1, name="input_conv")(x)
    c = ConditionUpsampler(cfg.upsample_scales if cfg.upsample == "transposed" else [cfg.hop],
                           mode=cfg.upsample, name="upsample")(mel)
    if cfg.frame_layers:   # frame-rate features, repeated to the sample rate, beside the upsampled mel
        f = FrameConditioner(cfg.frame_layers, cfg.frame_channels, cfg.frame_kernel, name="frame_net")(mel)
        f = ConditionUpsampler([cfg.hop], mode="repeat", name="frame_repeat")(f)
        c = keras.layers.Concatenate(name="conditioning")([c, f])
    g = None
    if cfg.n_speakers > 0:
        speaker = keras.Input((1,), dtype="int32", name="speaker")
        inputs["speaker"] = speaker
        g = keras.layers.Embedding(cfg.n_speakers, cfg.global_channels, name="speaker_embedding")(speaker)
    skips = []
    for i, d in enumerate(dilations(cfg)):
        block = GatedResidualBlock(cfg.residual_channels, cfg.gate_channels, cfg.skip_channels,
                                   kernel_size=cfg.kernel_size, dilation=d, use_global=g is not None,
                                   name=f"block_{i:02d}")
        x, s = block([x, c] if g is None else [x, c, g])
        skips.append(s)
    h = keras.layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    h = keras.layers.Rescaling(math.sqrt(1.0 / len(skips)), name="skip_scale")(h)
    h = keras.layers.ReLU(name="head_relu_1")(h)
    h = keras.layers.Dense(cfg.skip_channels, name="head_1")(h)
    h = keras.layers.ReLU(name="head_relu_2")(h)
    # float32 even under a mixed-precision policy: the softmax / mixture loss needs the range
    out = keras.layers.Dense(cfg.out_channels, dtype="float32", name="head_out")(h)
    return keras.Model(inputs, out, name=name)


def make_loss(cfg):
    """The Keras loss matching ``cfg.output`` (targets: µ-law codes or float amplitudes)."""
    if cfg.output == "mulaw256":
        return MuLawCrossEntropy()
    return MixtureLogisticLoss(cfg.n_mixtures)


def make_training_pair(wav, cfg, previous=0.0):
    """Model input and target for a waveform chunk ``wav [..., T]`` (float in [-1, 1]).

    Returns ``(audio_in [..., T, 1], target [..., T])``: the input is the waveform
    delayed by one sample (``previous`` fills the first slot) and quantised as the
    generator will feed it back; the target is the µ-law code (int32) for the
    softmax head or the amplitude (float32) for the mixture head.
    """
    wav = np.clip(np.asarray(wav, np.float32), -1.0, 1.0)
    previous = np.broadcast_to(np.asarray(previous, np.float32), wav.shape[:-1])[..., None]
    if cfg.output == "mulaw256":
        codes = mu_law_encode(wav).astype(np.int32)
        quantised = mu_law_decode(codes).astype(np.float32)
        prev_q = mu_law_decode(mu_law_encode(previous)).astype(np.float32)
        audio_in = np.concatenate([prev_q, quantised[..., :-1]], axis=-1)
        return audio_in[..., None], codes
    audio_in = np.concatenate([previous, wav[..., :-1]], axis=-1)
    return audio_in[..., None], wav


def inject_input_noise(audio_in, max_steps, rng):
    """Training noise injection (after LPCNet, Valin & Skoglund 2019): move the teacher-forced input by
    a few µ-law steps, so that the network learns to predict the next sample from a past as imperfect
    as the one it generates itself (every sampled value is a little off, and errors compound).

    Args:
        audio_in: ``[B, T, 1]`` µ-law-quantised input of :func:`make_training_pair` (µ-law head only).
        max_steps: float > 0; each window draws its noise level ``sigma ~ U(0, max_steps)`` and each
            sample moves by ``round(N(0, sigma))`` codes (clipped to the 256 codes), so clean and
            noisy pasts are both seen.
        rng: ``numpy.random.Generator``.
    Returns:
        ``[B, T, 1]`` float32, still on the µ-law grid; the targets stay clean.
    """
    codes = mu_law_encode(audio_in[..., 0]).astype(np.int64)
    sigma = rng.uniform(0.0, max_steps, size=(codes.shape[0], 1))
    moved = np.clip(codes + np.rint(rng.standard_normal(codes.shape) * sigma).astype(np.int64), 0, 255)
    return mu_law_decode(moved).astype(np.float32)[..., None]


def config_path(path):
    """The JSON beside a checkpoint: ``dir/NAME.keras`` -> ``dir/NAME.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".json") if path.suffix == ".keras" else path.with_suffix(".json")


def save_vocoder(model, cfg, path, extra=None):
    """Write the JSON config beside ``path`` (``<stem>.json``), then ``path`` (.keras), both atomically.

    The checkpoint also holds a copy of the JSON (``dsp.resume.checkpoint_state``): a run killed
    between the two writes leaves a JSON one epoch ahead of the weights, never one behind, and a
    resumed run takes its epoch from the copy inside the checkpoint.

    Args:
        extra: optional dict merged into the JSON (e.g. epoch, loss, the resolved ``args``).
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"{path}: vocoder checkpoints must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"config": cfg.to_dict(), **(extra or {})}
    write_json(config_path(path), meta)
    save_checkpoint(model, path, meta)
    return path


def load_vocoder_meta(path):
    """The JSON beside checkpoint ``path`` as a dict (``config``, and e.g. ``epoch``, ``args``)."""
    cpath = config_path(path)
    if not cpath.is_file():
        raise InputError(f"{cpath}: config JSON missing beside the checkpoint")
    return load_config(cpath)


def load_vocoder(path, compile=False):
    """Load ``(model, cfg)`` written by :func:`save_vocoder`; raises ``ValueError`` naming the file.

    Checkpoints of the previous layout (classes in ``separation.wavenet_*``) load too:
    Keras finds the classes by their registered names, which have not changed.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: vocoder checkpoint not found")
    meta = load_vocoder_meta(path)
    try:
        cfg = WaveNetConfig.from_dict(meta["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{config_path(path)}: bad vocoder config ({e})") from None
    return load_keras_model(path, "vocoder", compile=compile), cfg
