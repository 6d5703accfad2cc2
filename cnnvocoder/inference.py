"""Fast inference form of a trained CNN vocoder (same function, fewer FLOPs).

Backend: the compiled path (``tf.function``, ``compile=True``) needs the
TensorFlow backend of Keras (``dsp.backend.compiled_function``); on any other
backend :class:`FastVocoder` runs the same ``keras.ops`` eagerly (the default
``compile=None`` picks).  This module also loads checkpoints
(:func:`load_vocoder`) and runs a model on a spectrogram (:func:`run_cnn`).

:class:`FastVocoder` reads the weights of a model built by
``cnnvocoder.model.build_model`` and evaluates the same network, in
inference mode, with three exact rewrites:

1. BatchNorm folded into the preceding convolution (inference-mode BN is an
   affine map per channel: ``W' = W s``, ``b' = (b - mean) s + beta`` with
   ``s = gamma / sqrt(var + eps)``).
2. Upsampling layers as "mix channels, then interpolate".  A k-tap
   convolution of the x2 linearly interpolated sequence ``u = up(x)`` is
   ``sum_k W_k u[j + k - 1]``; interpolation acts on time only and commutes
   with the per-sample channel maps ``W_k``, so ``up(x) * W`` equals
   ``sum_k shift_k(up(x W_k))``: one matrix product over the T input frames
   instead of a convolution over 2T interpolated samples (half the
   multiply-adds, e.g. 2050 -> 3 x 1024 on T frames instead of
   3 x 2050 -> 1024 on 2T samples), then cheap shifted sums.  The border
   behaviour of the layer (edge clamping of the interpolation, zero padding
   of the convolution) is reproduced exactly.
3. Two compiled stages (``tf.function`` on the TensorFlow backend; the
   pre-net, then upsampling + post-net) with a symbolic length, so a new
   utterance length does not retrace.  Each stage runs over time chunks
   with a halo of context frames that covers its receptive field, so the
   result is the whole-utterance result (memory stays bounded on long
   inputs; the pre-net's [T, 1025, 8] activations stay in cache).

XLA (``jit_compile=True``) measured slower on this CPU and is not used.

``tests/cnnvocoder/test_cnnvocoder.py`` checks it against ``model(x, training=False)``.

Example:
    >>> model, config = load_vocoder("models/cnnvocoder/model.keras")
    >>> fast = fast_vocoder(model)                     # or FastVocoder(keras_model)
    >>> wav = fast(spec)                               # [frames, 1025] -> [frames * 256]
"""
import weakref
from pathlib import Path

import numpy as np
from keras import ops

import cnnvocoder.layers  # noqa: F401  (registers the custom layers for loading)
import cnnvocoder.losses  # noqa: F401  (registers the loss for loading)
from cnnvocoder.config import ANALYSIS_KEYS, DEFAULT_CONFIG, config_path_for, load_config
from cnnvocoder.refiner import RefinerVocoder, is_refiner
from dsp.audio import InputError
from dsp.backend import compiled_function, is_tensorflow, load_keras_model


def _bn_affine(layer):
    """(scale, shift) of an inference-mode BatchNormalization layer."""
    w = {v.path.split("/")[-1]: np.asarray(ops.convert_to_numpy(v)) for v in layer.weights}
    var, mean = w["moving_variance"], w["moving_mean"]
    gamma = w.get("gamma", np.ones_like(var))
    beta = w.get("beta", np.zeros_like(var))
    scale = gamma / np.sqrt(var + layer.epsilon)
    return scale, beta - mean * scale


def _conv_weights(layer):
    kernel = np.asarray(ops.convert_to_numpy(layer.kernel))
    bias = (np.asarray(ops.convert_to_numpy(layer.bias)) if layer.use_bias
            else np.zeros(kernel.shape[-1], np.float32))
    return kernel, bias


def _folded(model, conv_name, bn_name=None):
    """Kernel and bias of ``conv_name`` with ``bn_name`` folded in (float32)."""
    kernel, bias = _conv_weights(model.get_layer(conv_name))
    if bn_name is not None:
        scale, shift = _bn_affine(model.get_layer(bn_name))
        kernel = kernel * scale
        bias = bias * scale + shift
    return kernel.astype(np.float32), bias.astype(np.float32)


def _has_layer(model, name):
    try:
        model.get_layer(name)
        return True
    except ValueError:
        return False


def _elu(x):
    # ELU with alpha 1 (keras.layers.ELU's default); the fused kernel, ~8x
    # faster on CPU than where/expm1
    return ops.elu(x)


def _conv_same(x, kernel, bias):
    """'same' Conv1D/Conv2D, channels last: [1, T, (F,) Cin] -> [1, T, (F,) Cout]."""
    return ops.conv(x, kernel, strides=1, padding="same") + bias


def _stack_taps(kernel):
    """[3, Cin, Cout] conv kernel -> [Cin, 3 Cout] matrix (W_0 | W_1 | W_2)."""
    if kernel.shape[0] != 3:
        raise ValueError(f"upsampling conv kernel must have 3 taps, got {kernel.shape[0]}")
    return np.ascontiguousarray(np.concatenate(list(kernel), axis=1))


def _upsample_conv(x, w, bias):
    """ELU-free core of one upsampling layer: Conv1D(k=3, same)(up2(x)).

    x: [1, T, Cin]; w [Cin, 3 Cout] (``_stack_taps`` of the conv kernel);
    returns [1, 2T, Cout].
    With Z_k = x W_k and up2 the half-pixel x2 interpolation
    (even[i] = .75 z[i] + .25 z[i-1], odd[i] = .75 z[i] + .25 z[i+1], clamped),
    out[2i]   = odd(Z_0)[i-1] + even(Z_1)[i] + odd(Z_2)[i]
    out[2i+1] = even(Z_0)[i]  + odd(Z_1)[i]  + even(Z_2)[i+1]
    where terms outside [0, 2T) are the convolution's zero padding.
    """
    cout = w.shape[1] // 3
    z = ops.matmul(x, w)                                           # [1, T, 3 Cout]
    prev = ops.concatenate([z[:, :1], z[:, :-1]], axis=1)          # clamped z[i-1]
    nxt = ops.concatenate([z[:, 1:], z[:, -1:]], axis=1)           # clamped z[i+1]
    even = 0.75 * z + 0.25 * prev
    odd = 0.75 * z + 0.25 * nxt
    e0, e1, e2 = even[..., :cout], even[..., cout:2 * cout], even[..., 2 * cout:]
    o0, o1, o2 = odd[..., :cout], odd[..., cout:2 * cout], odd[..., 2 * cout:]
    zero = ops.zeros_like(o0[:, :1])
    out_even = ops.concatenate([zero, o0[:, :-1]], axis=1) + e1 + o2
    out_odd = e0 + o1 + ops.concatenate([e2[:, 1:], zero], axis=1)
    y = ops.stack([out_even, out_odd], axis=2) + bias              # [1, T, 2, Cout]
    return ops.reshape(y, (1, -1, cout))


class FastVocoder:
    """Inference-only evaluation of a CNN vocoder's weights (see module doc).

    Args:
        model: keras.Model built by ``cnnvocoder.model.build_model`` (trained
            or not); its weights are copied, so later training does not
            change this object.
        compile: bool or None (default). True: wrap both stages in
            ``tf.function`` (TensorFlow backend only: BackendError otherwise);
            False: run ``keras.ops`` eagerly; None: compile on TensorFlow,
            eager on other backends.

    Call: ``fast(spec)`` with ``spec`` [frames, bins] (float) returns a
    float32 numpy waveform [frames * 256]; equal to
    ``model(spec[None], training=False)[0]`` up to float rounding.
    """

    def __init__(self, model, compile=None, prenet_chunk=48, head_chunk=128):
        self.n_bins = int(model.input_shape[-1])
        names = [layer.name for layer in model.layers]
        # pre-net: first conv, then residual blocks pre0, pre1, ...
        self.pre = [("conv",) + _folded(model, "pre_conv", "pre_bn")]
        i = 0
        while _has_layer(model, f"pre{i}_conv1"):
            self.pre.append(self._block(model, f"pre{i}"))
            i += 1
        self.pre_channels = self.pre[-1][2][0].shape[-1] if i else self.pre[0][1].shape[-1]
        # heads: prefix "" (one head) or "h0_", "h1_", ...
        prefixes = [""] if "up0_conv" in names else sorted(
            {n.split("_")[0] + "_" for n in names if n.startswith("h") and "_up0_conv" in n})
        self.heads = []
        for p in prefixes:
            ups, j = [], 0
            while _has_layer(model, f"{p}up{j}_conv"):
                kernel, bias = _folded(model, f"{p}up{j}_conv", f"{p}up{j}_bn")
                ups.append((_stack_taps(kernel), bias))
                j += 1
            posts, j = [], 0
            while _has_layer(model, f"{p}post{j}_conv1"):
                posts.append(self._block(model, f"{p}post{j}"))
                j += 1
            dense, dense_b = _conv_weights(model.get_layer(f"{p}out"))
            self.heads.append((ups, posts, (dense.astype(np.float32), dense_b.astype(np.float32))))
        self.head_weights = None
        if _has_layer(model, "head_sum"):
            self.head_weights = np.asarray(ops.convert_to_numpy(model.get_layer("head_sum").w))
        self.scaled = None
        if _has_layer(model, "scaled_softsign"):
            layer = model.get_layer("scaled_softsign")
            self.scaled = (float(ops.convert_to_numpy(layer.a)),
                           float(ops.convert_to_numpy(layer.b)))
        self.prenet_chunk = int(prenet_chunk)
        self.head_chunk = int(head_chunk)
        # frames of context either side that make a chunk's output exact:
        # one per 3x3 conv of the pre-net; for the heads, the interpolations
        # (+-1 input sample each: sum 2^-i < 2 frames), the k=3 convs (< 1
        # frame) and the post-net (24 convs of +-2 samples < 1 frame)
        self.prenet_halo = 1 + 2 * (len(self.pre) - 1)
        self.head_halo = 4
        self.hop = 2 ** len(self.heads[0][0])
        self._pre_fn, self._head_fn = self._prenet, self._heads
        if compile or (compile is None and is_tensorflow()):
            self._compile_tf()

    def _compile_tf(self):
        """Both stages as ``tf.function`` with a symbolic length (TensorFlow only)."""
        what = "FastVocoder(compile=True)"
        self._pre_fn = compiled_function(self._prenet, [[1, None, self.n_bins]], what)
        self._head_fn = compiled_function(
            self._heads, [[1, None, self.n_bins * self.pre_channels]], what)

    @staticmethod
    def _block(model, name):
        conv1 = _folded(model, f"{name}_conv1", f"{name}_bn1")
        conv2 = _folded(model, f"{name}_conv2", f"{name}_bn2")
        proj = _folded(model, f"{name}_proj") if _has_layer(model, f"{name}_proj") else None
        return ("block", conv1, conv2, proj)

    def _prenet(self, spec):
        """[1, T, F] -> [1, T, F * pre_channels]."""
        x = ops.expand_dims(spec, -1)                       # [1, T, F, 1]
        for item in self.pre:
            if item[0] == "conv":
                x = _elu(_conv_same(x, item[1], item[2]))
            else:
                x = self._residual(x, item, _conv_same)
        return ops.reshape(x, (1, -1, self.n_bins * self.pre_channels))

    def _heads(self, x):
        """[1, T, C] -> [T * hop] waveform."""
        outs = []
        for ups, posts, (dense, dense_b) in self.heads:
            h = x
            for w, bias in ups:
                h = _elu(_upsample_conv(h, w, bias))
            for item in posts:
                h = self._residual(h, item, _conv_same)
            outs.append(ops.matmul(h, dense) + dense_b)      # [1, N, 1]
        if self.head_weights is not None:
            y = sum(float(w) * o for w, o in zip(self.head_weights, outs))
        else:
            y = outs[0]
        if self.scaled is not None:
            a, b = self.scaled
            y = a * y / (1.0 + ops.abs(b * y))
        else:
            y = y / (1.0 + ops.abs(y))
        return ops.reshape(y, (-1,))

    @staticmethod
    def _residual(x, item, conv):
        _, (k1, b1), (k2, b2), proj = item
        shortcut = x if proj is None else conv(x, proj[0], proj[1])
        y = _elu(conv(x, k1, b1))
        y = conv(y, k2, b2)
        return _elu(shortcut + y)

    def __call__(self, spec):
        spec = np.asarray(spec, dtype=np.float32)
        if spec.ndim != 2 or spec.shape[1] != self.n_bins:
            raise ValueError(f"expected a [frames, {self.n_bins}] spectrogram, got {spec.shape}")
        x = self._chunked(self._pre_fn, spec[None], self.prenet_chunk, self.prenet_halo, 1)
        return self._chunked(self._head_fn, x, self.head_chunk, self.head_halo, self.hop)

    @staticmethod
    def _chunked(fn, x, chunk, halo, factor):
        """fn over time chunks of x [1, T, C] with ``halo`` frames of context
        each side (cut off afterwards); the first/last chunks see the true
        edges, so the result equals fn(x) when the halo covers fn's reach.
        Chunks keep the working set in cache (measured ~2x faster on the
        pre-net than one whole-utterance call).  ``factor``: output samples
        per input frame."""
        n = x.shape[1]
        if chunk <= 0 or n <= chunk + 2 * halo:
            return np.asarray(ops.convert_to_numpy(fn(ops.convert_to_tensor(x))))
        out = []
        for s in range(0, n, chunk):
            lo, hi = max(s - halo, 0), min(s + chunk + halo, n)
            y = np.asarray(ops.convert_to_numpy(fn(ops.convert_to_tensor(x[:, lo:hi]))))
            a = (s - lo) * factor
            b = a + min(chunk, n - s) * factor
            out.append(y[:, a:b] if y.ndim == 3 else y[a:b])
        return np.concatenate(out, axis=1 if out[0].ndim == 3 else 0)


def load_vocoder(model_path):
    """(keras model, config) from a ``.keras`` checkpoint and the configuration
    saved beside it (the defaults when there is none)."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise InputError(f"{model_path}: no such model file")
    cfg_path = config_path_for(model_path)
    config = load_config(cfg_path) if cfg_path else dict(DEFAULT_CONFIG)
    return load_keras_model(model_path, "model", compile=False), config


def fast_vocoder(model, config=None):
    """The compiled inference form (:class:`FastVocoder`) of a keras model, or
    ``model`` itself when it already is one.  Build it once and pass it to
    ``cnnvocoder.inversion.invert`` for repeated calls (the first call of a
    new object traces the graph); it holds a copy of the weights.  A PGHI refiner
    (``cnnvocoder.refiner``) gives its :class:`RefinerVocoder` with ``config``'s
    analysis levels (default: the repository's)."""
    if isinstance(model, (FastVocoder, RefinerVocoder)):
        return model
    if is_refiner(model):
        return _refiner_vocoder(model, config)
    return FastVocoder(model)


_REFINERS = weakref.WeakKeyDictionary()  # keras refiner -> its compiled RefinerVocoder


def _refiner_vocoder(model, config=None):
    """The RefinerVocoder of a keras refiner, compiled once per model and analysis."""
    config = config or DEFAULT_CONFIG
    cached = _REFINERS.get(model)
    if cached is None or any(cached.config.get(k) != config.get(k) for k in ANALYSIS_KEYS):
        cached = _REFINERS[model] = RefinerVocoder(model, config)
    return cached


def model_bins(model):
    """Spectrogram bins a FastVocoder, RefinerVocoder or keras model expects."""
    if isinstance(model, (FastVocoder, RefinerVocoder)):
        return model.n_bins
    shape = model.input_shape
    return int((shape[0] if isinstance(shape, list) else shape)[-1])


_KERAS_CALLS = weakref.WeakKeyDictionary()  # model -> its compiled call (traced once per model)


def _keras_call(model):
    """``model(x, training=False)`` compiled the way FastVocoder compiles its stages.

    On the TensorFlow backend a ``tf.function`` with a symbolic length, traced once
    per model, so that a speed comparison with the FastVocoder compares the two
    networks' arithmetic, not graph against eager execution; eager elsewhere.
    """
    if model not in _KERAS_CALLS:
        call = lambda x: model(x, training=False)  # noqa: E731
        if is_tensorflow():
            call = compiled_function(call, [[1, None, model_bins(model)]])
        _KERAS_CALLS[model] = call
    return _KERAS_CALLS[model]


def run_cnn_keras(model, spec, config=None):
    """The keras model as built, ``model(spec[None], training=False)``, compiled like the
    FastVocoder (reference and speed baseline of the FastVocoder).  A PGHI refiner runs
    as its RefinerVocoder: the keras model as built is already its fast form."""
    if is_refiner(model):
        return fast_vocoder(model, config)(spec)
    if not hasattr(model, "input_shape"):
        raise InputError("fast=False needs a keras.Model, not a FastVocoder")
    y = _keras_call(model)(ops.convert_to_tensor(spec[None].astype(np.float32)))
    return np.asarray(ops.convert_to_numpy(y))[0].astype(np.float32)


def run_cnn(model, spec, config=None):
    """Waveform [frames*256] from a checked normalised spectrogram, BN in inference mode.

    ``model``: a FastVocoder (BN folded, one compiled pass), a RefinerVocoder or a
    keras.Model, converted on the fly (use :func:`fast_vocoder` once for repeated calls);
    ``config``: the analysis levels a PGHI refiner needs (default: the repository's).
    """
    if is_refiner(model):
        return fast_vocoder(model, config)(spec)
    if not isinstance(model, FastVocoder):
        try:
            model = FastVocoder(model)
        except (ValueError, KeyError):
            return run_cnn_keras(model, spec)  # a layout FastVocoder does not know
    return model(spec)
