"""WaveGAN and SpecGAN generators and discriminators (Donahue, McAuley, Puckette, ICLR 2019).

Functional Keras models, keras.ops only (any backend). Model size ``d`` is the
paper's: d = 64 gives the published networks.

* WaveGAN generator: ``z [batch, 100]`` (uniform in [-1, 1]) -> dense to
  ``[16, 16 d]`` -> ReLU -> transposed 1-D convolutions (kernel 25, ReLU; the
  last one to 1 channel with tanh), channels halving: 16 samples x 4^5 = 16384
  at 16 kHz. Other lengths change the strides (`wavegan_strides`): 8192 (8 kHz,
  1.024 s) makes the LAST stride 2 (the cheapest layer to shorten: it runs at
  the highest rate); 32768 adds a stride-2 and 65536 a stride-4 layer (the
  paper's longer outputs; the dense layer then has 32 d channels). Output
  ``[batch, length, 1]``.
* WaveGAN discriminator: the mirror, strided 1-D convolutions (kernel 25,
  LeakyReLU 0.2), `PhaseShuffle` (n; one shift per batch, as published) after
  each but the last, no batch normalisation (WGAN-GP's penalty is per
  example), flatten, dense -> one score ``[batch, 1]``.
* SpecGAN: the same in 2-D on ``[batch, 128, 128, 1]`` images (kernel 5,
  stride 2, 4 x 4 x 16 d after the dense layer), no phase shuffle (as published).
"""
import keras
from keras import layers

from wavegan.phase_shuffle import PhaseShuffle

LATENT_DIM = 100
BASE_STEPS = 16        # WaveGAN: samples after the dense layer
SPEC_BASE = 4          # SpecGAN: 4 x 4 after the dense layer
SPEC_SIZE = 128


def wavegan_strides(length):
    """Strides of the WaveGAN generator (reversed: of the discriminator) for an output length.

    Args:
        length: 8192, 16384, 32768 or 65536 samples.
    Returns:
        list of int: [4, 4, 4, 4, 2], [4] * 5, [4] * 5 + [2] or [4] * 6.
    """
    table = {8192: [4, 4, 4, 4, 2], 16384: [4] * 5, 32768: [4] * 5 + [2], 65536: [4] * 6}
    if int(length) not in table:
        raise ValueError(f"WaveGAN length must be one of {sorted(table)}, not {length}")
    return table[int(length)]


def _channels(d, n_layers):
    """Channels after the dense layer and after each layer but the last: 2^(n-1) d ... d."""
    return [d * 2 ** (n_layers - 1 - i) for i in range(n_layers)]


def wavegan_generator(d=64, length=16384, latent_dim=LATENT_DIM, name="wavegan_generator"):
    """The WaveGAN generator.

    Args:
        d: int, model size (paper: 64).
        length: output samples (`wavegan_strides`).
        latent_dim: int, size of z (paper: 100).
    Returns:
        keras.Model: z [batch, latent_dim] -> audio [batch, length, 1] in (-1, 1).
    """
    strides = wavegan_strides(length)
    channels = _channels(d, len(strides))
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(BASE_STEPS * channels[0], name="dense")(z)
    x = layers.Reshape((BASE_STEPS, channels[0]))(x)
    x = layers.ReLU()(x)
    for i, stride in enumerate(strides):
        last = i == len(strides) - 1
        x = layers.Conv1DTranspose(1 if last else channels[i + 1], 25, strides=stride,
                                   padding="same", name=f"upconv_{i}")(x)
        x = layers.Activation("tanh" if last else "relu")(x)
    return keras.Model(z, x, name=name)


def wavegan_discriminator(d=64, length=16384, phase_shuffle=2, seed=None,
                          name="wavegan_discriminator"):
    """The WaveGAN discriminator (a WGAN critic: unbounded score).

    Args:
        d: int, model size.
        length: input samples (`wavegan_strides`, reversed).
        phase_shuffle: int n, the largest shift of `PhaseShuffle` (0: none).
        seed: int or None, seeds of the phase-shuffle layers (seed + 1 + i: not the trainer's own seed).
    Returns:
        keras.Model: audio [batch, length, 1] -> score [batch, 1].
    """
    strides = wavegan_strides(length)[::-1]
    channels = _channels(d, len(strides))[::-1]
    audio = keras.Input((length, 1), name="audio")
    x = audio
    for i, stride in enumerate(strides):
        x = layers.Conv1D(channels[i], 25, strides=stride, padding="same", name=f"conv_{i}")(x)
        x = layers.LeakyReLU(0.2)(x)
        if i < len(strides) - 1 and phase_shuffle:
            x = PhaseShuffle(phase_shuffle, seed=None if seed is None else seed + 1 + i,
                             name=f"phase_shuffle_{i}")(x)
    x = layers.Flatten()(x)
    score = layers.Dense(1, name="score")(x)
    return keras.Model(audio, score, name=name)


def specgan_generator(d=64, latent_dim=LATENT_DIM, name="specgan_generator"):
    """The SpecGAN generator.

    Args:
        d: int, model size (paper: 64).
        latent_dim: int, size of z.
    Returns:
        keras.Model: z [batch, latent_dim] -> image [batch, 128 frames, 128 bins, 1] in (-1, 1).
    """
    channels = _channels(d, 5)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(SPEC_BASE * SPEC_BASE * channels[0], name="dense")(z)
    x = layers.Reshape((SPEC_BASE, SPEC_BASE, channels[0]))(x)
    x = layers.ReLU()(x)
    for i in range(5):
        last = i == 4
        x = layers.Conv2DTranspose(1 if last else channels[i + 1], 5, strides=2,
                                   padding="same", name=f"upconv_{i}")(x)
        x = layers.Activation("tanh" if last else "relu")(x)
    return keras.Model(z, x, name=name)


def specgan_discriminator(d=64, name="specgan_discriminator"):
    """The SpecGAN discriminator.

    Args:
        d: int, model size.
    Returns:
        keras.Model: image [batch, 128, 128, 1] -> score [batch, 1].
    """
    channels = _channels(d, 5)[::-1]
    image = keras.Input((SPEC_SIZE, SPEC_SIZE, 1), name="image")
    x = image
    for i in range(5):
        x = layers.Conv2D(channels[i], 5, strides=2, padding="same", name=f"conv_{i}")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x)
    score = layers.Dense(1, name="score")(x)
    return keras.Model(image, score, name=name)


def build_pair(config):
    """(generator, discriminator) for a configuration dict.

    Args:
        config: with ``model`` ("wavegan", "specgan" or "tifgan"), ``d``, ``length``
            (WaveGAN), ``latent_dim``, ``phase_shuffle`` (WaveGAN), ``seed``.
    Returns:
        two keras.Model.
    """
    kind, d = config["model"], int(config["d"])
    latent = int(config.get("latent_dim", LATENT_DIM))
    if kind == "wavegan":
        length = int(config["length"])
        return (wavegan_generator(d, length, latent),
                wavegan_discriminator(d, length, int(config.get("phase_shuffle", 2)),
                                      seed=config.get("seed")))
    if kind in ("specgan", "tifgan"):
        return specgan_generator(d, latent), specgan_discriminator(d)
    raise ValueError(f"unknown model {kind!r} (wavegan, specgan or tifgan)")


def sample_latent(rng, n, latent_dim=LATENT_DIM):
    """z ~ U[-1, 1]^latent_dim as float32 [n, latent_dim] from a numpy Generator."""
    return rng.uniform(-1.0, 1.0, size=(n, latent_dim)).astype("float32")
