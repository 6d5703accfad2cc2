"""Fixes that make Keras 3 training under `tf.distribute` equal one-device training (TensorFlow only).

Gradient clipping (any strategy with more than one replica): Keras clips each
replica's partial gradient (``clipnorm``, ``global_clipnorm``, ``clipvalue``) before
the replicas' gradients are summed, so two replicas may take up to twice the
clipped step of one device. `apply` makes the optimizers sum first, clip the sum,
and hand each replica its share, so the step is that of the global batch.

Loss scaling (``mixed_float16``): Keras's `LossScaleOptimizer` decides whether to
apply or skip a step from each replica's own, not yet summed gradients (on
``mirrored`` it follows replica 0's), so an overflow in another replica's share
was summed into the weights. `apply` makes the finiteness check a vote of all
replicas, so the step is skipped exactly when one device would skip it.

Keras 3 (checked on 3.5-3.15; keras-team/keras#20585, #20329) also fails on the
first batch of a multi-worker ``fit``:

1. ``_maybe_symbolic_build`` reduces the first *distributed* batch with
   ``strategy.reduce("MEAN", ...)``, which the collective strategy cannot convert
   ("Attempt to convert a value (PerReplica ...)"). It only needs the batch's
   shapes, so this worker's first local replica batch serves.
2. ``reduce_per_replica`` reduces every logged value with
   ``strategy.reduce("MEAN", v, axis=0)``; the logs are scalars (metric results,
   already synchronised across replicas), so the reduction over axis 0 fails
   ("Invalid reduction dimension 0 for input with 0 dimensions"). Scalars are
   averaged over the replicas instead (``axis=None``), which leaves them unchanged.

`apply` patches Keras's optimizer and TensorFlow trainer in place, once; each
patch steps aside outside the case it fixes.
"""
import tensorflow as tf
from keras.src import tree
from keras.src.backend.tensorflow import trainer as tf_trainer
from keras.src.optimizers import base_optimizer, loss_scale_optimizer

_APPLIED = []


def _is_multi_worker(strategy):
    return strategy is not None and tf_trainer._collective_all_reduce_multi_worker(strategy)


def _first_local(value, strategy):
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def _rank(value):
    if isinstance(value, tf.distribute.DistributedValues):
        value = value.values[0]
    return value.shape.rank if tf.is_tensor(value) else None


def _clips(optimizer):
    return any(getattr(optimizer, name, None) for name in ("clipnorm", "global_clipnorm", "clipvalue"))


def apply():
    """Patch Keras's optimizer clipping and multi-worker ``fit`` (idempotent)."""
    if _APPLIED:
        return
    clip_gradients = base_optimizer.BaseOptimizer._clip_gradients

    def clip_global_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context is not None else 1
        if replicas == 1 or not _clips(self):
            return clip_gradients(self, grads)
        present = [i for i, g in enumerate(grads) if g is not None]
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
        clipped = clip_gradients(self, summed)
        out = list(grads)
        for i, g in zip(present, clipped):
            out[i] = g / replicas   # the optimizer's own all-reduce sums the shares back to the clipped sum
        return out

    base_optimizer.BaseOptimizer._clip_gradients = clip_global_gradients

    check_finite = loss_scale_optimizer.LossScaleOptimizer.check_finite

    def check_finite_on_all_replicas(self, grads):
        finite = check_finite(self, grads)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return finite
        overflows = context.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))
        return overflows < 0.5

    loss_scale_optimizer.LossScaleOptimizer.check_finite = check_finite_on_all_replicas
    reduce_per_replica = tf_trainer.reduce_per_replica
    symbolic_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build

    def patched_reduce_per_replica(values, strategy, reduction):
        if not (_is_multi_worker(strategy) and reduction in ("auto", "mean")):
            return reduce_per_replica(values, strategy, reduction)

        def reduce_one(value):
            if _rank(value) == 0:
                return strategy.reduce("MEAN", value, axis=None)
            return reduce_per_replica(value, strategy, reduction)
        return tree.map_structure(reduce_one, values)

    def patched_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is not None and _is_multi_worker(strategy):
            for _, _, it in iterator:
                data_batch = tree.map_structure(lambda v: _first_local(v, strategy), next(it))
                break
            iterator = None
        return symbolic_build(self, iterator=iterator, data_batch=data_batch)

    tf_trainer.reduce_per_replica = patched_reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = patched_symbolic_build
    _APPLIED.append(True)
