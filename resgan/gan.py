"""ResGAN stage 2: the least-squares GAN noise model as a custom ``train_step``.

TensorFlow only: the step differentiates with ``tf.GradientTape``, so
``ResGAN`` refuses to be built on another Keras backend (``dsp.backend``).
The networks themselves (``resgan.models``), generation and evaluation run on
any backend.

Each step (one batch ``x [B, L, 22]``, ``y [B, 400]`` of real pulses):

1. the frozen pulse model predicts the smooth pulse; pulse and real pulse are
   multiplied by the 400-sample edge window (21-sample Hann ramps);
2. the generator G is trained: least-squares loss towards 1 plus the
   feature-matching ("peek") term ``mean((D_peek(fake) - D_peek(real))^2)``
   (weight ``peek_weight``, 1.0 by default), the real pulse being the one of
   the same frame;
3. the discriminator D is trained on one real and one fake batch
   (least squares: real -> 1, fake -> 0), both normalised with the real
   batch's BatchNorm statistics (below).

Discriminator BatchNorm (the choice Keras 3 forces us to make explicitly):
reference batch normalisation with the real batch. Every D evaluation in
the step normalises both batches with the statistics of the *real* batch:
D runs on the real batch in training mode, whose BatchNorm layers have
momentum 0 (set here), so their moving statistics become exactly that
batch's statistics; D then runs on the fake batch in inference mode, with
those statistics. Why not the alternatives (measured on the quick preset):
normalising real and fake separately -- what two ``train_on_batch`` calls on
a frozen-D Keras 2 model did -- removes each batch's overall level, so D
cannot see that fakes are too loud and the generator's residual drifts into
tanh saturation; normalising them together as one batch bounds what a common
offset of the fakes does to D's features (the joint statistics grow with
it), so D's gradient against a DC offset vanishes as the offset grows, and
the generator's mean wandered by 0.02-0.04 (0.25 with a 100x faster D; the
pulses' RMS is 0.05). With the real batch as the reference, a fake's offset
or level moves its features linearly and D penalises it at any size.
Keras 3 would also switch a ``trainable=False`` BatchNorm to inference mode,
hence the custom ``train_step``. After the step D's moving statistics are
those of the last real batch, which is what ``test_step`` and inference use.
The pulse model always runs in inference mode and is never updated.

The step uses ``tf.GradientTape``; all layers are ``keras.ops``.

Under ``tf.distribute`` (``--distribute``, `dsp.distribute`) the step computes the
update of one device on the global batch: each replica's losses are divided by the
number of replicas before differentiating (the optimizers sum the replicas'
gradients; the logged losses are the unscaled ones, averaged over the replicas),
D's BatchNorm statistics are those of the global real batch (`dsp.replicas.synchronize_batch_norm`),
and the generator's noise is drawn for the global batch and sliced per replica
(`ResGAN.noise`: every replica reads the same SeedGenerator state, so a per-replica
draw would give all replicas the same numbers). With ``--mixed_precision`` on a GPU
(policy ``mixed_float16``) both optimizers are wrapped in a
``keras.optimizers.LossScaleOptimizer`` and the losses scaled by it; ``mixed_bfloat16``
(CPUs) needs no loss scaling.
"""
import keras
import numpy as np
import tensorflow as tf
from keras import ops

from dsp.backend import require_tensorflow
from resgan import models
from resgan.constants import PULSE_LENGTH


def lsgan_loss(score, target):
    """Least-squares GAN loss ``mean((score - target)^2)``."""
    return ops.mean(ops.square(score - target))


class ResGAN(keras.Model):
    """Stage-2 trainer wrapping a frozen pulse model, a generator and a
    discriminator.

    Args:
        pulse_model: model from :func:`resgan.models.build_pulse_model` (frozen).
        generator: model from :func:`resgan.models.build_generator`.
        discriminator: model from :func:`resgan.models.build_discriminator`.
        peek_weight: float, weight of the feature-matching term, default 1.0.
        seed: int, seed of the generator's noise stream.

    Example:
        >>> gan = ResGAN(pulse, models.build_generator(), models.build_discriminator())
        >>> gan.compile(g_optimizer=keras.optimizers.Adam(1e-4),
        ...             d_optimizer=keras.optimizers.SGD(1e-5))
        >>> gan.fit(dataset, epochs=1)
    """

    def __init__(self, pulse_model, generator, discriminator, peek_weight=1.0, seed=0,
                 input_stats=None, **kwargs):
        require_tensorflow("the ResGAN training step (tf.GradientTape)")
        super().__init__(**kwargs)
        if models.uses_pitch_window(generator) and input_stats is None:
            raise ValueError("a pitch-window generator needs input_stats (input_means, input_stdevs)")
        # the inputs' normalisation, to recover F0 and voicing for the pitch windows
        self.input_stats = (None if input_stats is None else
                            tuple(ops.convert_to_tensor(np.asarray(a, np.float32)) for a in input_stats))
        self.pulse_model = pulse_model
        self.pulse_model.trainable = False
        self.generator = generator
        self.discriminator = discriminator
        # reference batch normalisation (module doc): D's moving statistics
        # are the statistics of the real batch it last saw in training mode
        for layer in discriminator.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = 0.0
        self.peek_weight = float(peek_weight)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.spectral = models.SpectralView()
        self.window = ops.convert_to_tensor(models.edge_window())
        self.g_tracker = keras.metrics.Mean(name="g_loss")
        self.g_adv_tracker = keras.metrics.Mean(name="g_adv")
        self.peek_tracker = keras.metrics.Mean(name="g_peek")
        self.d_tracker = keras.metrics.Mean(name="d_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Set the optimizers; under a ``mixed_float16`` policy each is wrapped in a
        ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scaling)."""
        super().compile(**kwargs)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            g_optimizer, d_optimizer = (
                o if isinstance(o, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(o) for o in (g_optimizer, d_optimizer))
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def metrics(self):
        return [self.g_tracker, self.g_adv_tracker, self.peek_tracker,
                self.d_tracker, self.d_real_tracker, self.d_fake_tracker]

    def build(self, input_shape=None):
        # All three sub-models are functional and already built; build the
        # optimizers so checkpoints can hold their state before the first step.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.built = True

    def call(self, x, training=False):
        """Inference: features ``[B, L, 22]`` -> GAN pulse ``[B, 400]``."""
        pulse = self.smooth_pulse(x)
        return self.generate(x, pulse, self.noise(pulse), training=training)["wave"]

    def generate(self, x, pulse, z, training=False):
        """The generator's outputs for features ``x [B, L, 22]``, their windowed pulse-model
        output ``pulse`` and noise ``z`` ``[B, 400]`` (with the pitch windows when it takes them)."""
        inputs = [ops.convert_to_tensor(pulse), ops.convert_to_tensor(z)]  # Keras refuses a mix
        if self.input_stats is not None and models.uses_pitch_window(self.generator):
            inputs.append(models.pitch_windows(ops.convert_to_tensor(x)[:, -1, :], *self.input_stats))
        return self.generator(inputs, training=training)

    def noise(self, pulse):
        """N(0, 1) noise like ``pulse [B, 400]`` from the model's SeedGenerator.

        One device: one draw of ``[B, 400]``. Under ``tf.distribute`` every replica
        reads the same generator state, so each draws the noise of the whole global
        batch (the replicas' batch sizes gathered in replica order) and keeps its own
        rows: every row gets the noise it gets on one device.

        Args:
            pulse: ``[B, 400]`` tensor (this replica's rows).
        Returns:
            float ``[B, 400]`` tensor.
        """
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return keras.random.normal(ops.shape(pulse), seed=self.seed_generator)
        local = tf.shape(pulse)[:1]
        sizes = context.all_gather(local, axis=0)
        start = tf.reduce_sum(sizes[:context.replica_id_in_sync_group])
        z = keras.random.normal(tf.stack([tf.reduce_sum(sizes), PULSE_LENGTH]),
                                seed=self.seed_generator)
        return tf.ensure_shape(z[start:start + local[0]], [None, PULSE_LENGTH])

    def smooth_pulse(self, x):
        """Windowed pulse-model output (inference mode), ``[B, 400]``."""
        return self.pulse_model(x, training=False)["wave"] * self.window

    def _discriminate(self, wave, training=True):
        return self.discriminator([wave, self.spectral(wave)], training=training)

    def _discriminate_pair(self, real, fake):
        """D on the real batch (training mode: its BatchNorm statistics, which
        become D's moving statistics) and on the fake batch normalised with
        those same statistics (inference mode); returns (real outputs, fake
        outputs)."""
        return self._discriminate(real, training=True), self._discriminate(fake, training=False)

    @staticmethod
    def _to_differentiate(loss, optimizer):
        """This replica's share of ``loss`` (divided by the replicas in sync: the optimizer
        sums the replicas' gradients), scaled by a LossScaleOptimizer's loss scale."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
        return optimizer.scale_loss(loss)

    @staticmethod
    def _apply(optimizer, grads, variables):
        """``optimizer.apply``. A LossScaleOptimizer skips a step whose gradients are not
        finite, but under ``tf.distribute`` Keras checks each replica's own (not yet summed)
        gradients and follows the first replica; so with several replicas the gradients are
        summed here and every replica applies the same share: all agree on a skip."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1 and isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            summed = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, grads)
            grads = [g / replicas for g in summed]
        optimizer.apply(grads, variables)

    def train_step(self, data):
        x, y = data[0], data[1]
        real = ops.cast(y, "float32") * self.window
        pulse = ops.stop_gradient(self.smooth_pulse(x))

        # --- generator step (D weights untouched) ---
        z = self.noise(pulse)
        with tf.GradientTape() as tape:
            fake = self.generate(x, pulse, z, training=True)["wave"]
            d_real, d_fake = self._discriminate_pair(real, fake)
            g_adv = lsgan_loss(d_fake["score"], 1.0)
            peek = ops.mean(ops.square(d_fake["peek"] - ops.stop_gradient(d_real["peek"])))
            g_loss = g_adv + self.peek_weight * peek
            share = self._to_differentiate(g_loss, self.g_optimizer)
        grads = tape.gradient(share, self.generator.trainable_variables)
        self._apply(self.g_optimizer, grads, self.generator.trainable_variables)

        # --- discriminator step: one real and one fake batch ---
        z = self.noise(pulse)
        fake = ops.stop_gradient(self.generate(x, pulse, z, training=True)["wave"])
        with tf.GradientTape() as tape:
            d_real, d_fake = self._discriminate_pair(real, fake)
            s_real, s_fake = d_real["score"], d_fake["score"]
            d_real_loss = lsgan_loss(s_real, 1.0)
            d_fake_loss = lsgan_loss(s_fake, 0.0)
            d_loss = d_real_loss + d_fake_loss
            share = self._to_differentiate(d_loss, self.d_optimizer)
        grads = tape.gradient(share, self.discriminator.trainable_variables)
        self._apply(self.d_optimizer, grads, self.discriminator.trainable_variables)

        for tracker, value in ((self.g_tracker, g_loss), (self.g_adv_tracker, g_adv),
                               (self.peek_tracker, peek), (self.d_tracker, d_loss),
                               (self.d_real_tracker, d_real_loss),
                               (self.d_fake_tracker, d_fake_loss)):
            tracker.update_state(value)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        """Validation: waveform MSE and high-band log-spectral gap are left to
        ``train.py --mode evaluate``; here only the LS losses on real/fake."""
        x, y = data[0], data[1]
        real = ops.cast(y, "float32") * self.window
        fake = self(x, training=False)
        s_real = self._discriminate(real, training=False)["score"]
        s_fake = self._discriminate(fake, training=False)["score"]
        self.d_real_tracker.update_state(lsgan_loss(s_real, 1.0))
        self.d_fake_tracker.update_state(lsgan_loss(s_fake, 0.0))
        return {m.name: m.result() for m in (self.d_real_tracker, self.d_fake_tracker)}
