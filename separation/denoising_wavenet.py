"""Baseline B2: the denoising WaveNet of Rethage et al. (non-causal, waveform in/out).

Stacks of non-causal dilated 1-D convolutions (kernel 3, dilations 1..2^k) with
gated tanh*sigmoid units; each layer adds a residual connection and a skip
output; skip sum -> ReLU -> Conv(head_channels[0], 3) -> ReLU ->
Conv(head_channels[1], 3) -> Conv(1, 1) = speech estimate. Energy-conserving
output: noise estimate = input - speech. Loss L1(speech) + L1(noise) (or squared errors).

All convolutions use 'valid' padding, so the model is exactly shift-invariant
and sliding inference equals one pass over the whole signal: an input of
`target_field + model_field - 1` samples gives `target_field` outputs aligned
with the centre of the input. `receptive_field` (6139 for the paper's 3 stacks
of dilations 1..512) is that of the dilated stack, as the paper quotes it; the
two 3-tap head convolutions add 4 samples (`model_field` = 6143).
"""
import dataclasses

import keras
import numpy as np
from keras import layers, ops

from separation import settings

PACKAGE = "separation"


@dataclasses.dataclass
class B2Config:
    """Denoising WaveNet sizes. The field defaults are the published network; the named
    sizes are the preset files `separation/presets/b2/NAME.json` (`from_preset`).

    Args:
        stacks: int, number of dilation stacks (3).
        max_dilation_exp: int, dilations 1, 2, ..., 2**max_dilation_exp per stack (9 -> 512).
        kernel_size: int (3).
        residual_channels: int (128).
        gate_channels: int, dilated-conv outputs, split in halves for tanh and sigmoid (256).
        skip_channels: int (128).
        head_channels: (int, int), the two 3-tap head convolutions (2048, 256).
        target_field: int, output samples per training example / inference window (1601).
    """

    stacks: int = 3
    max_dilation_exp: int = 9
    kernel_size: int = 3
    residual_channels: int = 128
    gate_channels: int = 256
    skip_channels: int = 128
    head_channels: tuple = (2048, 256)
    target_field: int = 1601

    @classmethod
    def from_preset(cls, name="default"):
        """The sizes of preset `name` (or a .json path). `default`: a narrow dilated stack
        for a CPU whose head stays wide-ish (the paper's is 2048/256): with (128, 64) B2
        lowered STOI on real mixtures, with (512, 128) it raises it (README)."""
        return cls.from_dict(settings.load("b2", name))

    @property
    def dilations(self):
        return [2 ** i for s in range(self.stacks) for i in range(self.max_dilation_exp + 1)]

    @property
    def receptive_field(self):
        """Samples of input seen by one output of the dilated stack."""
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    @property
    def model_field(self):
        """Receptive field of the whole model (dilated stack + two 3-tap head convs)."""
        return self.receptive_field + 4

    @property
    def input_length(self):
        return self.target_field + self.model_field - 1

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["head_channels"] = list(self.head_channels)
        return d

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        if "head_channels" in d:
            d["head_channels"] = tuple(d["head_channels"])
        return cls(**d)


@keras.saving.register_keras_serializable(package=PACKAGE)
class NonCausalGatedBlock(layers.Layer):
    """One denoising-WaveNet layer: dilated 'valid' conv -> tanh*sigmoid ->
    1x1 to residual (added to the centre-cropped input) and 1x1 to skip.

    Input `[batch, time, residual_channels]`; outputs (residual
    `[batch, time - (k-1)*dilation, residual_channels]`, skip of the same length
    with `skip_channels`). With `residual_output=False` (the last layer, whose
    residual path feeds nothing) there is no 1x1 residual convolution and the
    first output is the centre-cropped input.
    """

    def __init__(self, residual_channels=128, gate_channels=256, skip_channels=128,
                 kernel_size=3, dilation=1, residual_output=True, **kwargs):
        super().__init__(**kwargs)
        self.residual_output = bool(residual_output)
        self.residual_channels = int(residual_channels)
        self.gate_channels = int(gate_channels)
        self.skip_channels = int(skip_channels)
        self.kernel_size = int(kernel_size)
        self.dilation = int(dilation)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self.conv = layers.Conv1D(self.gate_channels, self.kernel_size, dilation_rate=self.dilation,
                                  padding="valid", name="dilated")
        self.conv.build(input_shape)
        gated = input_shape[:-1] + (self.gate_channels // 2,)
        if self.residual_output:
            self.res = layers.Conv1D(self.residual_channels, 1, name="residual")
            self.res.build(gated)
        self.skip = layers.Conv1D(self.skip_channels, 1, name="skip")
        self.skip.build(gated)
        super().build(input_shape)

    def call(self, x):
        h = self.conv(x)
        half = self.gate_channels // 2
        g = ops.tanh(h[..., :half]) * ops.sigmoid(h[..., half:])
        trim = (self.kernel_size - 1) * self.dilation // 2
        centre = x[:, trim:ops.shape(x)[1] - trim, :] if trim else x
        return (centre + self.res(g) if self.residual_output else centre), self.skip(g)

    def compute_output_shape(self, input_shape):
        t = input_shape[1]
        t = None if t is None else t - (self.kernel_size - 1) * self.dilation
        return ((input_shape[0], t, self.residual_channels), (input_shape[0], t, self.skip_channels))

    def get_config(self):
        c = super().get_config()
        c.update(residual_channels=self.residual_channels, gate_channels=self.gate_channels,
                 skip_channels=self.skip_channels, kernel_size=self.kernel_size, dilation=self.dilation,
                 residual_output=self.residual_output)
        return c


@keras.saving.register_keras_serializable(package=PACKAGE)
class CentreCrop(layers.Layer):
    """Crop `[batch, time, ch]` symmetrically to the length of a reference tensor."""

    def call(self, x, ref):
        trim = (ops.shape(x)[1] - ops.shape(ref)[1]) // 2
        return x[:, trim:trim + ops.shape(ref)[1], :]

    def compute_output_shape(self, x_shape, ref_shape):
        return (x_shape[0], ref_shape[1], x_shape[2])


def build_denoising_wavenet(cfg=None, input_length=None):
    """Build B2. Input `[batch, time]` (or `[batch, time, 1]`) mixture waveform;
    outputs {"speech": [batch, time - model_field + 1], "noise": same} where noise = centre-cropped input - speech.

    Args:
        cfg: B2Config (default `B2Config.from_preset("default")`).
        input_length: fixed input length or None (any length >= receptive field).
    """
    cfg = cfg or B2Config.from_preset("default")
    inp = keras.Input((input_length,), name="mixture")
    # float32 (also under --mixed_precision): the mixture, the speech output and the noise
    # (mixture - speech) of the loss; the convolutions between compute in the policy's dtype
    f32 = "float32"
    x = layers.Reshape((-1, 1), dtype=f32, name="add_channel")(inp)
    h = layers.Conv1D(cfg.residual_channels, 1, name="input_conv")(x)
    skips = []
    last = len(cfg.dilations) - 1
    for i, d in enumerate(cfg.dilations):
        h, s = NonCausalGatedBlock(cfg.residual_channels, cfg.gate_channels, cfg.skip_channels,
                                   cfg.kernel_size, d, residual_output=i < last, name=f"block_{i}")(h)
        skips.append(s)
    skips = [CentreCrop(name=f"crop_skip_{i}")(s, h) for i, s in enumerate(skips)]
    out = layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    out = layers.Activation("relu")(out)
    out = layers.Conv1D(cfg.head_channels[0], 3, padding="valid", activation="relu", name="head_1")(out)
    out = layers.Conv1D(cfg.head_channels[1], 3, padding="valid", name="head_2")(out)
    out = layers.Conv1D(1, 1, dtype=f32, name="head_out")(out)
    speech = layers.Reshape((-1,), dtype=f32, name="speech")(out)
    centre = CentreCrop(dtype=f32, name="crop_input")(x, out)
    noise = layers.Subtract(dtype=f32, name="noise_sub")([layers.Reshape((-1,), dtype=f32)(centre), speech])
    noise = layers.Identity(dtype=f32, name="noise")(noise)
    return keras.Model(inp, {"speech": speech, "noise": noise}, name="denoising_wavenet")


LOSSES = ("mae", "mse")


def compile_b2(model, learning_rate=1e-3, ema_momentum=None, loss="mae"):
    """The same loss on speech and on noise; Adam, keeping an exponential moving average of
    the weights when `ema_momentum` is set (None or 0: off).

    Args:
        loss: "mae" (the paper's L1) or "mse": squared error weighs the windows by their energy as an
            utterance's SDR does, so it is the closer surrogate for SI-SDR (beyond the paper).
    """
    if loss not in LOSSES:
        raise ValueError(f"B2 loss {loss!r}: expected one of {LOSSES}")
    opt = keras.optimizers.Adam(learning_rate, use_ema=bool(ema_momentum),
                                ema_momentum=ema_momentum or 0.99)
    model.compile(optimizer=opt,
                  loss={"speech": loss, "noise": loss}, jit_compile=False)
    return model


def denoise(model, cfg, x, batch_size=8):
    """Whole-utterance inference: windows of `input_length` samples hopped by the
    target field over the (zero-padded) mixture; outputs concatenated and trimmed.

    Args:
        x: `[n]` float mixture.
    Returns:
        `[n]` float32 speech estimate.
    """
    x = np.asarray(x, np.float32)
    n, tf_, rf = len(x), cfg.target_field, cfg.model_field
    half = (rf - 1) // 2
    n_win = -(-n // tf_)
    padded = np.pad(x, (half, n_win * tf_ - n + (rf - 1 - half)))
    wins = np.stack([padded[i * tf_:i * tf_ + tf_ + rf - 1] for i in range(n_win)])
    y = model.predict(wins, batch_size=batch_size, verbose=0)["speech"]
    return np.asarray(y, np.float32).reshape(-1)[:n]

