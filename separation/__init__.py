"""Speech separation by synthesis (Liu, Jackson, Wang, IEEE SPL 2019).

An hourglass encoder predicts the clean speech's mel spectrogram from a noisy
mixture and a WaveNet vocoder synthesises a new, clean waveform from it;
baselines B1 (linear-spectrum estimate + Griffin-Lim / clean phase) and B2
(denoising WaveNet), and oracles (IBM, ground-truth mel). Read top to bottom:
mixing.py, make_mixtures.py (data) -> features.py -> layers.py, encoder.py,
denoising_wavenet.py (models) -> data.py, training.py, train_encoder.py,
train_b2.py (training) -> blocks.py, separate.py (inference) -> evaluate.py.
The vocoder lives in wavenet*.py / train_vocoder.py. See separation/README.md.
"""
