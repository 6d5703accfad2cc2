"""Speech separation by synthesis (Liu, Jackson, Wang, IEEE SPL 2019).

An hourglass encoder predicts the clean speech's mel spectrogram from a noisy
mixture and the WaveNet vocoder (the `wavenet` package) synthesises a new, clean
waveform from it; baselines B1 (linear-spectrum estimate + Griffin-Lim / clean
phase) and B2 (denoising WaveNet), and oracles (IBM, ground-truth mel). Read top
to bottom: mixing.py, make_mixtures.py (data) -> features.py -> layers.py,
encoder.py, denoising_wavenet.py (models) -> settings.py (presets), data.py,
training.py, train_encoder.py, train_b2.py (training) -> blocks.py, separate.py
(inference) -> evaluate.py. Stages: separation/run.sh. See separation/README.md.
"""
import dsp  # noqa: F401  (first: sets TensorFlow's log level before Keras loads)
