"""WaveGAN, SpecGAN and TiFGAN: unconditional audio GANs on spoken digits (issue 24).
"""
import dsp  # noqa: F401  (first: sets TensorFlow's log level before Keras loads)
