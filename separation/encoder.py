"""The proposed mel encoder and baseline B1 (linear-spectrum estimator).

Both take a mixture's linear log spectrum `[batch, frames, 512]` and its mel
spectrum `[batch, frames, 80]` (both in [0, 1], see `separation.features`; the sizes of the
paper's settings, other settings give other sizes) and predict the clean target in [0, 1]:
- "proposed": clean mel `[batch, frames, 80]` (decoded by the WaveNet vocoder);
- "b1": clean linear spectrum `[batch, frames, 512]` (Griffin-Lim or clean phase).
"""
import dataclasses

import keras
from keras import layers

from separation import settings
from separation.layers import Hourglass, ResidualBlock, weighted_squared_error

N_LINEAR = 512
N_MELS = 80
KINDS = ("proposed", "b1")
OUTPUTS = ("mapping", "mask")


@dataclasses.dataclass
class EncoderConfig:
    """Sizes of the encoder. The field defaults are the published network; the named
    sizes are the preset files `separation/presets/{proposed,b1}/NAME.json`
    (`from_preset`): `paper`, and `default` / `realdata`, a narrower network of the same
    topology that trains in minutes on a CPU.

    Args:
        frames: int, training crop / inference block length (64).
        lstm_linear: int, units per direction of the BiLSTM over the linear spectrum (400).
        lstm_mel: int, units per direction of the BiLSTM over the mel spectrum (200).
        res_mid: int, 3x3 conv channels of the residual blocks (32).
        res_out: int, residual block output channels (64).
        depth: int, hourglass levels (3).
        dropout: float, dropout and recurrent dropout of the LSTMs (0.25).
        l2: float, L2 regularisation (1e-7).
        bn_momentum: float, BatchNormalization momentum (Keras' 0.99; the CPU default uses 0.9:
            after a few hundred steps the moving statistics of 0.99 still carry their
            initial values, and the inference-mode network is far worse than in training).
        output: str, "mapping" (the paper: the last 3x3 conv's sigmoid is the estimate) or "mask"
            (beyond the paper: that sigmoid is a gain on the mixture's own normalised feature,
            so the estimate never exceeds the mixture and speech-dominated bins pass unchanged).
    """

    frames: int = 64
    lstm_linear: int = 400
    lstm_mel: int = 200
    res_mid: int = 32
    res_out: int = 64
    depth: int = 3
    dropout: float = 0.25
    l2: float = 1e-7
    bn_momentum: float = 0.99
    output: str = "mapping"

    @classmethod
    def from_preset(cls, name="default", kind="proposed"):
        """The sizes of preset `name` (or a .json path) of `kind` ("proposed" or "b1")."""
        return cls.from_dict(settings.load(kind, name))

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})


def _bilstm(units, cfg, name):
    reg = keras.regularizers.L2(cfg.l2) if cfg.l2 > 0 else None
    return layers.Bidirectional(
        layers.LSTM(units, return_sequences=True, dropout=cfg.dropout,
                    recurrent_dropout=cfg.dropout, kernel_regularizer=reg,
                    recurrent_regularizer=reg),
        name=name)


def _dense(units, cfg, name):
    reg = keras.regularizers.L2(cfg.l2) if cfg.l2 > 0 else None
    return layers.Dense(units, kernel_regularizer=reg, name=name)


def build_encoder(kind="proposed", cfg=None, n_linear=N_LINEAR, n_mels=N_MELS):
    """Build the proposed encoder (kind="proposed") or baseline B1 (kind="b1").

    Proposed: BiLSTM(lstm_linear) over the linear spectrum -> Dense(320) -> (T, 80, 4);
    BiLSTM(lstm_mel) over the mel -> Dense(320) -> (T, 80, 4); concatenated with the
    mixture mel -> (T, 80, 9) -> Hourglass(depth) -> concat mixture mel -> residual
    -> Conv2D(1, 3x3, sigmoid) -> (T, 80) (with output="mask", times the mixture mel).
    B1: the same with Dense(1024) -> (T, 512, 2), Dense(512) -> (T, 512, 1), the linear
    mixture as the extra channel -> (T, 512, 4) ... -> (T, 512).

    Args:
        kind: "proposed" or "b1".
        cfg: EncoderConfig (default: `EncoderConfig.from_preset("default", kind)`).
        n_linear, n_mels: feature sizes (`separation.features.FeatureSettings`; the paper's 512 and 80;
            the B1 bins and the mel bands must be divisible by ``2 ** cfg.depth``).
    Returns:
        keras.Model with inputs {"linear": [B, T, n_linear], "mel": [B, T, n_mels]}.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown encoder kind {kind!r}; choose from {KINDS}")
    cfg = cfg or EncoderConfig.from_preset("default", kind)
    if cfg.output not in OUTPUTS:
        raise ValueError(f"unknown encoder output {cfg.output!r}; choose from {OUTPUTS}")
    T = cfg.frames
    lin = keras.Input((T, n_linear), name="linear")
    mel = keras.Input((T, n_mels), name="mel")
    if kind == "proposed":
        out_bins, lin_ch, mel_ch, skip_src = n_mels, 4, 4, mel
    else:
        out_bins, lin_ch, mel_ch, skip_src = n_linear, 2, 1, lin
    for name, size in (("frames", T), ("output bins", out_bins)):
        if size % (2 ** cfg.depth):
            raise ValueError(f"{name}={size} must be divisible by 2**depth={2 ** cfg.depth}")
    h_lin = _bilstm(cfg.lstm_linear, cfg, "bilstm_linear")(lin)
    h_lin = _dense(out_bins * lin_ch, cfg, "dense_linear")(h_lin)
    h_lin = layers.Reshape((T, out_bins, lin_ch), name="reshape_linear")(h_lin)
    h_mel = _bilstm(cfg.lstm_mel, cfg, "bilstm_mel")(mel)
    h_mel = _dense(out_bins * mel_ch, cfg, "dense_mel")(h_mel)
    h_mel = layers.Reshape((T, out_bins, mel_ch), name="reshape_mel")(h_mel)
    skip_img = layers.Reshape((T, out_bins, 1), name="mixture_image")(skip_src)
    h = layers.Concatenate(axis=-1, name="stack")([h_lin, h_mel, skip_img])
    h = Hourglass(cfg.depth, cfg.res_out, cfg.res_mid, cfg.l2, cfg.bn_momentum, name="hourglass")(h)
    h = layers.Concatenate(axis=-1, name="stack_mixture")([h, skip_img])
    h = ResidualBlock(cfg.res_out, cfg.res_mid, cfg.l2, cfg.bn_momentum, name="post_residual")(h)
    # float32 under --mixed_precision: the output and the loss stay in full precision
    h = layers.Conv2D(1, 3, padding="same", activation="sigmoid", dtype="float32", name="out_conv")(h)
    if cfg.output == "mask":
        h = layers.Multiply(dtype="float32", name="masked_mixture")([h, skip_img])
    out = layers.Reshape((T, out_bins), dtype="float32", name=f"{kind}_estimate")(h)
    return keras.Model({"linear": lin, "mel": mel}, out, name=f"encoder_{kind}")


def compile_encoder(model, learning_rate=1e-3):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=weighted_squared_error, jit_compile=False)
    return model
