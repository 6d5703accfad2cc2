"""CNN vocoder pipeline: feed-forward spectrogram inversion vs Griffin-Lim and PGHI.

Modules: config (settings), features (spectrograms, validation), layers and
model (the Keras network), losses (in-graph STFT loss), pghi (phase-gradient
heap integration), inversion (the common ``invert(spec, method)`` call);
scripts preprocess.py, train.py, gen_spec.py, synthesis.py and the numbered
stages (see README.md).
"""
