"""Data-parallel training with TensorFlow's own engine, ``tf.distribute`` (TensorFlow only).

`--distribute none` (the default) runs on any Keras backend and imports nothing
extra. `mirrored` and `multi_worker` need the TensorFlow backend
(`dsp.backend.require_tensorflow`):

- ``mirrored``: `tf.distribute.MirroredStrategy` over the local GPUs; on a machine
  without GPUs over the CPU, which `--logical_cpus N` splits into N logical devices
  (for testing: the arithmetic is that of N GPUs).
- ``multi_worker``: `tf.distribute.MultiWorkerMirroredStrategy`, configured from
  ``TF_CONFIG`` (each host of a Kubernetes or SLURM job sets its own;
  ``python -m tools.launch`` does it for processes on one host).

Every trainer calls `distributed_training(args, ...)` around the whole training
(model building, optimiser creation, checkpoint restore and ``fit``), so all
variables are created in the strategy's scope. The batch size of the command is the
global batch: Keras splits each batch of the `keras.utils.PyDataset` across the
replicas (tf.data auto-sharding by data, so every worker cuts the same seeded
global batch and keeps its replicas' rows: the step sees exactly the examples of a
one-process run). The learning rate is not rescaled.

Only the chief (worker 0) writes: the other workers run the same code with their
output folders redirected to a private temporary copy (so that a resumed run
starts every worker from the chief's checkpoint), removed at exit.
"""
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from dsp.audio import InputError

STRATEGIES = ("none", "mirrored", "multi_worker")
# Folders of a run that a worker's private copy does not need (outputs only, never read back).
_NOT_COPIED = ("samples", "tb", "figures")


def add_distribute_args(parser):
    """Add ``--distribute``, ``--logical_cpus`` and ``--mixed_precision`` to a trainer's parser.

    Args:
        parser: argparse.ArgumentParser.
    """
    g = parser.add_argument_group("scale-out (tf.distribute, TensorFlow backend)")
    g.add_argument("--distribute", choices=STRATEGIES, default="none",
                   help="none: one device; mirrored: all local GPUs (or --logical_cpus CPU devices); "
                        "multi_worker: the hosts of TF_CONFIG (see python -m tools.launch). "
                        "The batch size is the global batch; the learning rate is not rescaled")
    g.add_argument("--logical_cpus", type=int, default=0,
                   help="with --distribute mirrored and no GPU: split the CPU into this many logical devices "
                        "(for testing; 0: one device)")
    g.add_argument("--mixed_precision", action="store_true",
                   help="compute in float16 on GPUs (bfloat16 on CPUs), variables and output layers in float32")


class Distribution:
    """The strategy of a run and this process's place in it.

    Args:
        kind: one of `STRATEGIES`.
        strategy: the `tf.distribute.Strategy`, or None for ``none``.
        worker_index: int, this process's index among the workers (0 is the chief).
        num_workers: int.
    """

    def __init__(self, kind="none", strategy=None, worker_index=0, num_workers=1):
        self.kind = kind
        self.strategy = strategy
        self.worker_index = worker_index
        self.num_workers = num_workers

    @property
    def is_chief(self):
        """True for the process that writes checkpoints, logs and figures."""
        return self.worker_index == 0

    @property
    def num_replicas(self):
        """Replicas over all workers (1 without a strategy)."""
        return self.strategy.num_replicas_in_sync if self.strategy is not None else 1

    def scope(self):
        """The strategy's scope (a no-op context for ``none``)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def describe(self, global_batch):
        """One line for the training log: strategy, replicas, global and per-replica batch."""
        if self.strategy is None:
            return f"distribute: none (one device), batch {global_batch}"
        return (f"distribute: {self.kind}, {self.num_workers} worker(s), {self.num_replicas} replica(s) in sync, "
                f"global batch {global_batch} ({global_batch // self.num_replicas} per replica), "
                f"learning rate as given; this is worker {self.worker_index}"
                + (" (chief)" if self.is_chief else ""))

    def check_batch(self, global_batch, flag="--batch_size"):
        """Refuse a global batch that the replicas cannot share evenly."""
        if global_batch % self.num_replicas:
            raise InputError(f"{flag} {global_batch}: the global batch must be a multiple of the "
                             f"{self.num_replicas} replicas of --distribute {self.kind}")

    @contextlib.contextmanager
    def private_outputs(self, args, path_flags, copied=None):
        """On a non-chief worker, point the output flags of `args` at a private temporary copy.

        The chief keeps `args` as they are. Another worker gets, for each flag in
        `path_flags` whose value is set, a path inside a temporary folder holding a copy
        of what is there now (checkpoints to resume from, the saved split), so that it
        runs exactly the chief's code, resumes from the same state and writes nothing
        the chief writes. The folder is removed and `args` restored on exit.

        Args:
            args: argparse.Namespace of the trainer.
            path_flags: names of the attributes of `args` that are output files or folders.
            copied: the flags whose current contents are copied (None: all of `path_flags`);
                the others start empty (outputs only, e.g. a figures folder).
        """
        if self.is_chief:
            yield args
            return
        private = Path(tempfile.mkdtemp(prefix=f"audiosynth_worker{self.worker_index}_"))
        saved = {name: getattr(args, name, None) for name in path_flags}
        try:
            for name, value in saved.items():
                if not value:
                    continue
                source = Path(value)
                target = private / name / source.name
                target.parent.mkdir(parents=True, exist_ok=True)
                needed = copied is None or name in copied
                if needed and source.is_dir():
                    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*_NOT_COPIED))
                elif needed and source.is_file():
                    shutil.copy2(source, target)
                setattr(args, name, str(target))
            yield args
        finally:
            for name, value in saved.items():
                setattr(args, name, value)
            shutil.rmtree(private, ignore_errors=True)


def worker_of_tf_config():
    """(worker index, number of workers) from ``TF_CONFIG`` ((0, 1) when it is not set)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0, 1
    try:
        config = json.loads(raw)
        cluster, task = config.get("cluster", {}), config.get("task", {})
        kinds = [k for k in ("chief", "worker") if k in cluster]
        ordered = [(k, i) for k in kinds for i in range(len(cluster[k]))]
        return ordered.index((task["type"], int(task["index"]))), len(ordered)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(f"TF_CONFIG: not a valid cluster description ({raw[:120]!r}); expected "
                         '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": I}}')


def setup_distribution(args):
    """The `Distribution` of ``args.distribute``; call it before any TensorFlow op runs.

    Also sets the mixed-precision policy for ``args.mixed_precision``.

    Args:
        args: argparse.Namespace with the flags of `add_distribute_args`.
    Returns:
        Distribution.
    Raises:
        InputError: a bad ``--logical_cpus`` or ``TF_CONFIG``, or devices already initialised.
        BackendError: a strategy other than ``none`` on a non-TensorFlow backend.
    """
    kind = getattr(args, "distribute", "none")
    if getattr(args, "logical_cpus", 0) < 0:
        raise InputError(f"--logical_cpus must be >= 0, got {args.logical_cpus}")
    if getattr(args, "mixed_precision", False):
        _set_mixed_precision()
    if kind == "none":
        return Distribution()
    # Imported only here: the trainers' parsers import this module before Keras (fast --help), and
    # `none` must run on every Keras backend without TensorFlow.
    from dsp.backend import require_tensorflow
    require_tensorflow(f"--distribute {kind}")
    import tensorflow as tf
    from dsp import keras_distribute_fixes

    keras_distribute_fixes.apply()
    if kind == "mirrored":
        if args.logical_cpus and not tf.config.list_physical_devices("GPU"):
            cpu = tf.config.list_physical_devices("CPU")[0]
            try:
                tf.config.set_logical_device_configuration(
                    cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)
            except RuntimeError as exc:
                raise InputError(f"--logical_cpus: TensorFlow's devices are already initialised ({exc})")
        return Distribution("mirrored", tf.distribute.MirroredStrategy())
    worker_index, num_workers = worker_of_tf_config()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Distribution("multi_worker", strategy, worker_index, num_workers)


def _set_mixed_precision():
    """float16 compute on GPUs (bfloat16 on CPUs, where float16 kernels are missing or slow)."""
    import keras
    gpus = keras.backend.backend() == "tensorflow" and _has_gpu()
    _set_global_policy("mixed_float16" if gpus else "mixed_bfloat16")


def _global_policy_name():
    import keras   # here, not at the top: the trainers' parsers import this module before Keras
    return keras.mixed_precision.global_policy().name


def _set_global_policy(name):
    import keras
    keras.mixed_precision.set_global_policy(name)


def _has_gpu():
    import tensorflow as tf
    return bool(tf.config.list_physical_devices("GPU"))


@contextlib.contextmanager
def distributed_training(args, path_flags=("out_dir",), batch_flag="batch_size", copied=None):
    """Set up ``args.distribute`` and run the body in its scope, non-chief outputs redirected.

    Example:
        >>> with distributed_training(args, ("out_dir", "final")) as dist:
        ...     model = build_model(); model.fit(data)

    Args:
        args: the trainer's argparse.Namespace (with `add_distribute_args` flags).
        path_flags: attributes of `args` that name outputs (see `Distribution.private_outputs`).
        batch_flag: the attribute holding the global batch size (checked against the replicas),
            or None.
        copied: the flags of `path_flags` whose current contents a non-chief worker needs
            (checkpoints to resume from); None: all of them.
    Yields:
        Distribution.
    """
    policy = _global_policy_name()
    dist = setup_distribution(args)
    try:
        if batch_flag and getattr(args, batch_flag, None):
            dist.check_batch(getattr(args, batch_flag), "--" + batch_flag)
        with dist.private_outputs(args, path_flags, copied), dist.scope():
            yield dist
    finally:   # --mixed_precision must not leak into what the same process does next
        _set_global_policy(policy)
