"""Benchmarks: `python -m bench.NAME`; each measures its baseline in the same run and prints one JSON line last."""
import dsp  # noqa: F401  (first: sets TensorFlow's log level before Keras loads)
