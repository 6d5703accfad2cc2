"""CNN vocoder pipeline: feed-forward spectrogram inversion vs Griffin-Lim and PGHI.

Modules: config (settings; presets in presets/*.json), features (spectrograms,
validation), layers and model (the Keras network), losses (in-graph STFT loss),
inference (checkpoint loading, the fast
compiled form of the network), inversion (the common ``invert(spec, method)``
call; PGHI itself is dsp.pghi, shared with the GANs); command-line modules preprocess,
train, gen_spec, synthesis (run them with ``python -m cnnvocoder.NAME``) and the numbered stages (see README.md).
"""
import dsp  # noqa: F401  (first: sets TensorFlow's log level before Keras loads)
