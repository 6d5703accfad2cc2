"""The CNN vocoder: a feed-forward network from a spectrogram to a waveform.

Architecture (the CNN vocoder repository, plus the multi-head paper's heads):

1. 2-D pre-net treating the spectrogram ``[T, F]`` as a one-channel image:
   Conv2D 3x3 -> BN -> ELU, then residual blocks (conv-BN-ELU-conv-BN plus an
   identity or 1x1 projection, ELU after the sum) ending with 2 channels,
   reshaped to ``[T, 2 F]``.
2. Upsampling stack: 8 layers of x2 linear interpolation (half-pixel centres)
   -> Conv1D(k=3) -> BN -> ELU with 1024, 512, ..., 8 channels (2^8 = 256 =
   the hop), so T frames give T * 256 samples.
3. Post-net: 12 residual 1-D blocks of 8 channels, kernel 5, then Dense(1)
   per sample and softsign.

With ``n_heads > 1`` the upsampling stack and post-net are repeated per head,
the heads' linear outputs are summed with trainable scalars and squashed by
the scaled softsign ``a x / (1 + |b x|)``.  ``input="mel"`` feeds an
``n_mels``-band mel spectrogram instead of the 1025-bin linear one.

Use ``model(spec, training=False)`` (or ``predict``) at synthesis so that
BatchNorm runs with its moving statistics.
"""
import keras
from keras import layers

from cnnvocoder.config import make_config, n_input_bins
from cnnvocoder.layers import LinearUpsample1D, ScaledSoftsign, WeightedSum

# The heads' last Dense and everything after it run in float32, also under --mixed_precision
# (float16/bfloat16 compute elsewhere): the waveform and the spectral loss in full precision.
OUTPUT_DTYPE = "float32"


def _residual_block(x, channels, kernel, conv, name, momentum):
    """conv-BN-ELU-conv-BN + (identity | 1x1 projection), ELU after the sum."""
    shortcut = x
    if x.shape[-1] != channels:
        shortcut = conv(channels, 1, padding="same", name=f"{name}_proj")(x)
    y = conv(channels, kernel, padding="same", name=f"{name}_conv1")(x)
    y = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn1")(y)
    y = layers.ELU(name=f"{name}_elu1")(y)
    y = conv(channels, kernel, padding="same", name=f"{name}_conv2")(y)
    y = layers.BatchNormalization(momentum=momentum, name=f"{name}_bn2")(y)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ELU(name=f"{name}_elu2")(y)


def _head(x, config, prefix):
    """Upsampling stack + post-net + Dense(1): [B, T, C] -> [B, T*256, 1]."""
    momentum = config["bn_momentum"]
    for i, ch in enumerate(config["upsample_channels"]):
        x = LinearUpsample1D(2, name=f"{prefix}up{i}_interp")(x)
        x = layers.Conv1D(ch, config["upsample_kernel"], padding="same",
                          name=f"{prefix}up{i}_conv")(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"{prefix}up{i}_bn")(x)
        x = layers.ELU(name=f"{prefix}up{i}_elu")(x)
    for i in range(config["postnet_blocks"]):
        x = _residual_block(x, config["postnet_channels"], config["postnet_kernel"],
                            layers.Conv1D, f"{prefix}post{i}", momentum)
    return layers.Dense(1, dtype=OUTPUT_DTYPE, name=f"{prefix}out")(x)


def upsampling_factor(config):
    """Samples per input frame produced by the model (2 ** number of layers)."""
    return 2 ** len(config["upsample_channels"])


def build_model(config=None, **overrides):
    """Build the CNN vocoder as a functional Keras model.

    Args:
        config: dict or None. A configuration (see ``cnnvocoder.config``);
            ``None`` uses the defaults.
        **overrides: configuration keys to change.

    Returns:
        ``keras.Model`` mapping ``[batch, frames, bins]`` (normalised dB
        spectrogram in [0, 1]) to ``[batch, frames * 256]`` samples in (-1, 1).

    Example:
        >>> model = build_model(upsample_channels=[32, 16], postnet_blocks=1)
        >>> model(keras.ops.zeros((1, 10, 1025))).shape  # (1, 40)
    """
    config = make_config(**{**(config or {}), **overrides})
    n_bins = n_input_bins(config)
    momentum = config["bn_momentum"]
    spec = keras.Input(shape=(None, n_bins), name="spectrogram")

    # pre-net on the spectrogram as an image [T, F, 1]
    x = layers.Reshape((-1, n_bins, 1), name="to_image")(spec)
    ch = config["prenet_channels"]
    x = layers.Conv2D(ch[0], 3, padding="same", name="pre_conv")(x)
    x = layers.BatchNormalization(momentum=momentum, name="pre_bn")(x)
    x = layers.ELU(name="pre_elu")(x)
    for i, c in enumerate(ch[1:]):
        x = _residual_block(x, c, 3, layers.Conv2D, f"pre{i}", momentum)
    x = layers.Reshape((-1, n_bins * ch[-1]), name="to_frames")(x)

    n_heads = int(config["n_heads"])
    outs = [_head(x, config, f"h{h}_" if n_heads > 1 else "") for h in range(n_heads)]
    y = WeightedSum(dtype=OUTPUT_DTYPE, name="head_sum")(outs) if n_heads > 1 else outs[0]
    if config["scaled_softsign"] or n_heads > 1:
        y = ScaledSoftsign(dtype=OUTPUT_DTYPE, name="scaled_softsign")(y)
    else:
        y = layers.Activation("softsign", dtype=OUTPUT_DTYPE, name="softsign")(y)
    wav = layers.Reshape((-1,), dtype=OUTPUT_DTYPE, name="waveform")(y)
    return keras.Model(spec, wav, name="cnn_vocoder")
