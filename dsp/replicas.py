"""What a trainer's model and callbacks need under a `tf.distribute` strategy (see `dsp.distribute`).

- `synchronize_batch_norm`: BatchNormalization layers normalise with the statistics
  of the global batch (all replicas), computed as one device computes them, instead of
  each replica's share. A property of the run, not of the model: nothing is saved, so
  the checkpoints load as before on every Keras backend.
- `even_validation`: validation arrays and a batch size that every replica gets an equal
  share of (Keras's evaluate fails on unequal shares of a first batch, BatchNormalization
  on an empty share).
- `any_worker`: a decision taken from a clock (a time budget) made the same on every
  worker, so that no worker stops while another waits for it in the next step.

These do nothing without a strategy (``--distribute none``) or on another backend.
`note_kept_precision` says when a resumed checkpoint keeps another precision than
``--mixed_precision`` asks for.
"""
import keras

from dsp.audio import notice
from dsp.backend import is_tensorflow


def _strategy():
    """The strategy whose scope we are in, or None (none, or a non-TensorFlow backend)."""
    if not is_tensorflow():
        return None
    import tensorflow as tf
    return tf.distribute.get_strategy() if tf.distribute.has_strategy() else None


def synchronize_batch_norm(model):
    """Make every BatchNormalization layer of ``model`` normalise with the global batch's statistics.

    Call it in the strategy's scope after building or loading the model, before ``fit``;
    it does something only with more than one replica in sync. The statistics are those
    of one device over the global batch, computed the same way (`global_moments`), so a
    run with N replicas follows a one-device run within rounding. Keras's own
    ``synchronized=True`` is not used: it computes the variance as E[x^2] - E[x]^2, which
    in float32 loses digits when a channel's mean is large next to its spread
    (tests/dsp/test_replicas.py: a step 8e-2 off the one-device step where this one is
    2.5e-4 off, worse than per-replica statistics), and a model saved with it no longer
    loads on another backend.
    Nothing of this is saved: the layers' configuration is unchanged.

    Args:
        model: a Keras model (nested layers included).
    Returns:
        int, the number of layers changed.
    """
    strategy = _strategy()
    if strategy is None or strategy.num_replicas_in_sync == 1:
        return 0
    changed = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization) and not getattr(layer, "_global_moments", False):
            layer._moments = global_moments(layer)   # called by BatchNormalization.call when training
            layer._global_moments = True
            changed += 1
    return changed


def global_moments(layer):
    """A ``_moments(inputs, mask)`` for BatchNormalization ``layer``: mean and variance over the
    replicas' batches together, two-pass as `tf.nn.moments` (mean first, then the mean squared
    deviation from it; the deviation's gradient does not flow through the mean, as there).

    Outside a replica context (Keras tracing the model), or with a mask, the layer's own.
    """
    import tensorflow as tf
    own = layer._moments

    def moments(inputs, mask):
        context = tf.distribute.get_replica_context()
        if mask is not None or context is None or context.num_replicas_in_sync == 1:
            return own(inputs, mask)
        axes = list(layer._reduction_axes)
        shape = tf.shape(inputs)
        count = tf.cast(tf.reduce_prod(tf.gather(shape, axes)), inputs.dtype)
        total, count = context.all_reduce(
            tf.distribute.ReduceOp.SUM, [tf.reduce_sum(inputs, axis=axes, keepdims=True), count])
        mean = tf.math.divide_no_nan(total, count)
        squares = tf.reduce_sum(tf.math.squared_difference(inputs, tf.stop_gradient(mean)), axis=axes,
                                keepdims=True)
        variance = tf.math.divide_no_nan(context.all_reduce(tf.distribute.ReduceOp.SUM, squares), count)
        return tf.squeeze(mean, axes), tf.squeeze(variance, axes)
    return moments


_VOTES = {}  # id(strategy) -> its compiled vote of `any_worker`


def any_worker(flag):
    """True when ``flag`` is true on any worker of a multi-worker strategy, else ``flag``.

    Under ``multi_worker`` this is a collective operation: every worker must call it at
    the same point (e.g. after the same batch), as the training steps do.

    Args:
        flag: bool, this worker's decision.
    Returns:
        bool.
    """
    strategy = _strategy()
    if strategy is None:
        return bool(flag)
    import tensorflow as tf  # the backend: _strategy() is None otherwise
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return bool(flag)
    vote = _VOTES.get(id(strategy))
    if vote is None:   # one graph per strategy (eager collectives are slow and warn at every call)
        @tf.function
        def vote(own):
            return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(tf.identity, args=(own,)), axis=None)
        _VOTES[id(strategy)] = vote
    return int(vote(tf.constant(1 if flag else 0, tf.int32))) > 0



def even_validation(data, batch_size=32):
    """Validation arrays and a batch size with which every batch splits evenly over the replicas.

    Keras (3.15) starts an ``evaluate`` under a strategy by averaging the replicas' shares
    of the first batch, which fails when their shapes differ ("Inputs to operation AddN
    ... must have the same size and shape"), and a BatchNormalization layer fails on a
    replica's empty share of a last batch smaller than the replicas. With more than one
    replica the examples are therefore cut to a multiple of the replicas (the last
    ``n % replicas`` left out) and batched by a multiple of them.

    Args:
        data: the validation arrays, e.g. ``(x, y)`` (dicts of arrays allowed), all of ``n`` rows.
        batch_size: int, the batch size wanted (Keras's default for arrays: 32).
    Returns:
        ``(data, batch_size, dropped)``: unchanged (``dropped`` 0) without a strategy of
        more than one replica.
    """
    strategy = _strategy()
    replicas = 1 if strategy is None else strategy.num_replicas_in_sync
    n = len(keras.tree.flatten(data)[0])
    if replicas == 1 or n < replicas:
        return data, batch_size, 0
    keep = n // replicas * replicas
    batch = max(replicas, min(keep, batch_size) // replicas * replicas)
    return keras.tree.map_structure(lambda a: a[:keep], data), batch, n - keep


def note_kept_precision(model, path):
    """One notice when the loaded ``model`` (from ``path``) computes in another precision than the
    global policy (``--mixed_precision`` or not): a loaded model keeps the dtype policies it was
    saved with, so the flag does not change a resumed run. Returns True when noted."""
    mixed = {layer.dtype_policy.compute_dtype for layer in model._flatten_layers(include_self=False)
             if layer.weights} - {"float32"}
    wanted = keras.mixed_precision.global_policy().compute_dtype
    if (wanted == "float32") == (not mixed):
        return False
    kept = f"computes in {sorted(mixed)[0]} (mixed precision)" if mixed else "computes in float32"
    notice(f"{path}: the checkpoint {kept} and is resumed so; --mixed_precision applies to new models only")
    return True
