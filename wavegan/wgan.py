"""TensorFlow only: the WGAN-GP training step (``tf.GradientTape``) of WaveGAN, SpecGAN and TiFGAN.

The networks (`wavegan.models`), generation and evaluation run on any Keras
backend; this step differentiates with ``tf.GradientTape`` (twice, nested, for
the gradient penalty), so `WGANGP` refuses to be built on another backend
(``dsp.backend.require_tensorflow``). All tensor arithmetic is keras.ops.

Loss (Gulrajani et al. 2017), as in WaveGAN's ``train_wavegan.py``:

    d_loss = mean D(fake) - mean D(real) + lambda mean (||grad_x D(x_hat)||_2 - 1)^2
    g_loss = -mean D(fake)

with ``x_hat = real + alpha (fake - real)``, ``alpha ~ U[0, 1]`` per example.
One call of ``train_step`` is one GENERATOR iteration: its batch holds
``n_critic`` real batches ``[n_critic * batch, ...]``; the critic takes
``n_critic`` steps (a fresh z each), then the generator one.
"""
import keras
import numpy as np
import tensorflow as tf
from keras import ops

from dsp.backend import require_tensorflow


def gradient_penalty(critic, real, fake, alpha, training=True):
    """WGAN-GP's penalty ``mean((||grad D(x_hat)|| - 1)^2)`` and the gradient norms.

    Args:
        critic: callable (a Keras model), [batch, ...] -> [batch, 1].
        real, fake: float tensors [batch, ...] of the same shape.
        alpha: float tensor [batch], interpolation weights in [0, 1].
        training: passed to the critic (phase shuffle is active in training).
    Returns:
        (penalty: scalar, norms: [batch]).
    """
    shape = [-1] + [1] * (len(real.shape) - 1)
    x_hat = real + ops.reshape(alpha, shape) * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        # summed inside the tape: each example's score depends on its own input only
        total = ops.sum(critic(x_hat, training=training))
    grads = tape.gradient(total, x_hat)
    axes = list(range(1, len(real.shape)))
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=axes) + 1e-12)
    return ops.mean(ops.square(norms - 1.0)), norms


class WGANGP(keras.Model):
    """A generator and its critic trained with WGAN-GP.

    Args:
        generator: keras.Model, z [batch, latent_dim] -> x [batch, ...].
        discriminator: keras.Model, x [batch, ...] -> score [batch, 1].
        latent_dim: int.
        n_critic: int, critic steps per generator step (paper: 5).
        gp_weight: float, lambda (paper: 10).
        seed: int, seed of the latent and interpolation noise (a SeedGenerator,
            whose state `dsp.resume` keeps in checkpoints).

    Call: ``gan(z)`` is ``generator(z)`` in inference mode.
    """

    def __init__(self, generator, discriminator, latent_dim=100, n_critic=5, gp_weight=10.0,
                 seed=0, **kwargs):
        require_tensorflow("the WGAN-GP training step (tf.GradientTape)")
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.n_critic = int(n_critic)
        self.gp_weight = float(gp_weight)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "gp", "wasserstein")}
        self._step_functions = None  # `train_iteration`'s graphs, traced at its first call

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Set the two optimizers (Adam 1e-4, beta 0.5 / 0.9 in the paper)."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        # the sub-models are functional and built; building the optimizers lets a
        # checkpoint hold (and a resumed run load) their slots before the first step
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.built = True

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def latent(self, n):
        """z ~ U[-1, 1], float [n, latent_dim], from the model's SeedGenerator."""
        return keras.random.uniform((n, self.latent_dim), -1.0, 1.0, seed=self.seed_generator)

    def _critic_step(self, real):
        n = ops.shape(real)[0]
        fake = self.generator(self.latent(n), training=True)
        alpha = keras.random.uniform((n,), 0.0, 1.0, seed=self.seed_generator)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            d_real = ops.mean(self.discriminator(real, training=True))
            d_fake = ops.mean(self.discriminator(fake, training=True))
            gp, _ = gradient_penalty(self.discriminator, real, fake, alpha)
            d_loss = d_fake - d_real + self.gp_weight * gp
        self.d_optimizer.apply(tape.gradient(d_loss, variables), variables)
        return d_loss, gp, d_real - d_fake

    def _generator_step(self, n):
        z = self.latent(n)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            g_loss = -ops.mean(self.discriminator(self.generator(z, training=True),
                                                  training=True))
        self.g_optimizer.apply(tape.gradient(g_loss, variables), variables)
        return g_loss

    def train_step(self, data):
        """One generator iteration on ``data`` = real [n_critic * batch, ...] (for ``fit``).

        Returns:
            dict of the means over the critic steps of d_loss, gp and the critic's
            Wasserstein estimate (mean D(real) - mean D(fake)), and g_loss
            (reset each call: the trainer logs per step).
        """
        real = data[0] if isinstance(data, (tuple, list)) else data
        batch = ops.shape(real)[0] // self.n_critic
        for tracker in self.trackers.values():
            tracker.reset_state()
        for i in range(self.n_critic):  # unrolled: n_critic is a Python int
            d_loss, gp, wasserstein = self._critic_step(real[i * batch:(i + 1) * batch])
            self.trackers["d_loss"].update_state(d_loss)
            self.trackers["gp"].update_state(gp)
            self.trackers["wasserstein"].update_state(wasserstein)
        self.trackers["g_loss"].update_state(self._generator_step(batch))
        return {name: t.result() for name, t in self.trackers.items()}

    def train_iteration(self, real):
        """The same generator iteration as `train_step`, driven from Python (what the trainer uses).

        The critic step and the generator step are two ``tf.function`` graphs called
        ``n_critic`` times and once: tracing them takes a fifth of the time of
        `train_step`'s graph with ``n_critic`` unrolled critic steps (on the 2 CPU
        cores ~20 s for WaveGAN, paid at every start and resume), and the calls cost
        well under a millisecond each against steps of a second.

        Args:
            real: float array [n_critic * batch, ...].
        Returns:
            dict of floats: d_loss, gp, wasserstein (means over the critic steps), g_loss.
        """
        if self._step_functions is None:
            self._step_functions = (
                tf.function(self._critic_step, jit_compile=bool(self.jit_compile)),
                tf.function(self._generator_step, jit_compile=bool(self.jit_compile)))
        critic_fn, generator_fn = self._step_functions
        batch = len(real) // self.n_critic
        values = [critic_fn(ops.convert_to_tensor(real[i * batch:(i + 1) * batch]))
                  for i in range(self.n_critic)]
        d_loss, gp, wasserstein = (float(np.mean([float(v[k]) for v in values]))
                                   for k in range(3))
        g_loss = float(generator_fn(tf.constant(batch)))
        return {"d_loss": d_loss, "g_loss": g_loss, "gp": gp, "wasserstein": wasserstein}
