"""The vocoder's optimizer recipe: Adam, a learning-rate staircase, a weight average, and swapping them on resume.

``make_optimizer(args)`` builds what ``--lr``, ``--lr_halve_every`` and ``--ema`` ask for;
``optimizer_matches`` tells whether a resumed checkpoint's optimizer already is that;
``replace_optimizer`` swaps it in while keeping Adam's state; ``warm_start`` does the same for a
model that starts from exported weights (no Adam state to keep); ``averaged_weights`` lends the
model the averaged weights for a block (checkpoints, samples). Any Keras backend.
"""
import contextlib
import math

import keras

from wavenet.model import make_loss


def make_optimizer(args):
    """Adam with gradient clipping, the ``--lr_halve_every`` staircase and the ``--ema`` weight average."""
    lr = args.lr
    if args.lr_halve_every:
        lr = keras.optimizers.schedules.ExponentialDecay(args.lr, args.lr_halve_every, 0.5, staircase=True)
    return keras.optimizers.Adam(lr, clipnorm=1.0, use_ema=args.ema > 0, ema_momentum=args.ema or 0.99)


def optimizer_matches(optimizer, args):
    """Whether a resumed checkpoint's optimizer already has the requested schedule and averaging."""
    cfg = optimizer.get_config()
    lr = cfg["learning_rate"]
    scheduled = isinstance(lr, dict)
    if scheduled != bool(args.lr_halve_every) or bool(cfg.get("use_ema")) != (args.ema > 0):
        return False
    close = lambda a, b: math.isclose(float(a), float(b), rel_tol=1e-6)   # noqa: E731  (float32 round trip)
    if args.ema > 0 and not close(cfg.get("ema_momentum", 0), args.ema):
        return False
    if scheduled:
        return lr["config"]["decay_steps"] == args.lr_halve_every and close(lr["config"]["initial_learning_rate"],
                                                                             args.lr)
    return close(lr, args.lr)


def replace_optimizer(model, cfg, args):
    """Recompile a resumed model with :func:`make_optimizer`, carrying over Adam's state.

    Adam's moments and step count are copied by variable path: a fresh Adam's first steps move
    every weight by about ``lr`` at once (its bias correction), which undid ~1000 steps of
    training when this was tried. The weight average starts from the current weights (Keras
    seeds it only at step 0).
    """
    name = lambda v: v.path.split("/", 1)[-1]   # noqa: E731  (without the optimizer's own name: adam, adam_1, ...)
    old = {name(v): v for v in model.optimizer.variables}
    model.compile(optimizer=make_optimizer(args), loss=make_loss(cfg), jit_compile=False)
    model.optimizer.build(model.trainable_variables)
    for var in model.optimizer.variables:
        prev = old.get(name(var))
        if prev is not None and name(var) != "learning_rate" and tuple(var.shape) == tuple(prev.shape):
            var.assign(prev)
    for var, average in zip(model.trainable_variables,
                            getattr(model.optimizer, "_model_variables_moving_average", None) or []):
        average.assign(var)


def warm_start(model, cfg, args, dataset, steps):
    """Give a model loaded without optimizer state (``--init_from``) Adam's moments before it learns.

    Adam runs ``steps`` batches of ``dataset`` at learning rate 0, so its moment estimates are
    filled in while no weight moves; then :func:`replace_optimizer` installs the requested
    optimizer with them (and seeds the weight average from the unchanged weights). Without this
    every weight would move by about ``lr`` in the first steps (see :func:`replace_optimizer`).
    """
    model.compile(optimizer=keras.optimizers.Adam(0.0, clipnorm=1.0), loss=make_loss(cfg), jit_compile=False)
    if steps > 0:
        model.fit(dataset, epochs=1, steps_per_epoch=min(steps, len(dataset)), verbose=0, shuffle=False)
    replace_optimizer(model, cfg, args)


@contextlib.contextmanager
def averaged_weights(model):
    """Inside the block the model holds the optimizer's EMA weights (if it keeps any); restored after."""
    opt = getattr(model, "optimizer", None)
    average = getattr(opt, "_model_variables_moving_average", None) if getattr(opt, "use_ema", False) else None
    if not average:
        yield False
        return
    variables = model.trainable_variables
    raw = [v.numpy() for v in variables]
    for v, a in zip(variables, average):
        v.assign(a)
    try:
        yield True
    finally:
        for v, r in zip(variables, raw):
            v.assign(r)
