"""The spoken-digit classifier that scores the GANs, in the papers' style.

WaveGAN (Donahue et al. 2019, sec. 5 and app. C) measures its generators with a
classifier on log-mel spectrograms: 128 mel bins, four blocks of
[conv 5 x 5, 128 filters, ReLU, max-pool 2, batch normalisation], a dense
layer to the 10 digits with a softmax. This is that network at 8 kHz, with the
front end inside the graph, so ``classifier.keras`` takes raw audio:

    audio [batch, time] -> LogMel -> [batch, frames, n_mels, 1]
        -> 4 x (Conv2D 5x5 `filters`, ReLU, MaxPool 2, BatchNorm)
        -> Flatten -> Dropout -> Dense(10, softmax)           -> p(y | x) [batch, 10]

The mel filterbank is `dsp.spectral.mel_filterbank` (Slaney's scale, librosa's
filters); the STFT is `keras.ops.stft` (Hann window, centred frames), so the same
graph runs on any backend. Each spectrogram is standardised on its own (zero
mean, unit deviation of its log-mel values): a generator that is quieter or
louder than FSDD is then judged on what it says, not on its level.

`filters` is a setting: 128 (the paper, preset ``paper``) costs about 16 times
the compute of 32 per example; the shipped model's value is in its config.json.
"""
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from dsp.audio import InputError
from dsp.spectral import mel_filterbank

PACKAGE = "wavegan.classifier"  # Keras registered package name: never change (checkpoints name it)
N_CLASSES = 10


@keras.saving.register_keras_serializable(package=PACKAGE)
class LogMel(layers.Layer):
    """Fixed log-mel spectrogram of raw audio, standardised per example (no weights).

    Args:
        sr: int, sample rate.
        n_fft: int, FFT and window length.
        hop_length: int, frame hop.
        n_mels: int, mel bins (128 in the paper).
        fmin, fmax: float, band edges in Hz (fmax None: sr / 2).
        floor: float, power floor before the log.
        **kwargs: keras.layers.Layer arguments.

    Shapes: ``[batch, time]`` -> ``[batch, 1 + time // hop_length, n_mels, 1]``.
    Computes in float32 whatever the dtype policy (the FFT needs it).
    """

    def __init__(self, sr=8000, n_fft=512, hop_length=64, n_mels=128, fmin=0.0, fmax=None,
                 floor=1e-10, **kwargs):
        super().__init__(**kwargs)
        self.sr, self.n_fft, self.hop_length = int(sr), int(n_fft), int(hop_length)
        self.n_mels, self.fmin, self.fmax, self.floor = int(n_mels), float(fmin), fmax, float(floor)
        # [n_fft//2 + 1, n_mels]: a constant, rebuilt from the settings, never saved as a weight
        self._filterbank = mel_filterbank(self.sr, self.n_fft, self.n_mels, fmin=self.fmin,
                                          fmax=self.fmax).T.astype(np.float32)

    def call(self, audio):
        audio = ops.cast(audio, "float32")
        real, imag = ops.stft(audio, sequence_length=self.n_fft, sequence_stride=self.hop_length,
                              fft_length=self.n_fft, window="hann", center=True)
        power = real * real + imag * imag                       # [batch, frames, bins]
        mel = ops.matmul(power, ops.convert_to_tensor(self._filterbank))
        logmel = ops.log(ops.maximum(mel, self.floor))
        mean = ops.mean(logmel, axis=(1, 2), keepdims=True)
        std = ops.std(logmel, axis=(1, 2), keepdims=True)
        return ops.expand_dims((logmel - mean) / (std + 1e-5), -1)

    def compute_output_shape(self, input_shape):
        frames = None if input_shape[1] is None else 1 + input_shape[1] // self.hop_length
        return (input_shape[0], frames, self.n_mels, 1)

    def get_config(self):
        config = super().get_config()
        config.update(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length,
                      n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax, floor=self.floor)
        return config


def build_classifier(length=8192, sr=8000, n_fft=512, hop_length=64, n_mels=128, filters=128,
                     blocks=4, kernel_size=5, dropout=0.0, name="digit_classifier"):
    """The paper's digit classifier on raw audio.

    Args:
        length: int, samples per clip (8192 = 1.024 s at 8 kHz).
        sr, n_fft, hop_length, n_mels: the log-mel front end (`LogMel`).
        filters: int, channels of every convolution (128 in the paper).
        blocks: int, conv/ReLU/pool/BN blocks (4 in the paper).
        kernel_size: int, square kernel (5 in the paper).
        dropout: float, dropout rate before the dense layer (0 in the paper; it helps
            the few FSDD speakers generalise to a new voice).
        name: model name.
    Returns:
        keras.Model: audio [batch, length] -> probabilities [batch, 10]; its layer
        "embedding" is the feature space of `embedding_model`.
    """
    audio = keras.Input(shape=(length,), name="audio")
    x = LogMel(sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, name="logmel")(audio)
    for i in range(blocks):
        x = layers.Conv2D(filters, kernel_size, padding="same", activation="relu",
                          name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
    x = layers.Flatten(name="embedding")(x)
    if dropout > 0:
        x = layers.Dropout(dropout, name="dropout")(x)
    probs = layers.Dense(N_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(audio, probs, name=name)


def embedding_model(model):
    """audio [batch, length] -> the flattened last conv block [batch, features] of `model`.

    The nearest-neighbour distances of `wavegan.metrics` may use this space.
    """
    return keras.Model(model.inputs[0], model.get_layer("embedding").output)


def predict_proba(model, audio, batch_size=64):
    """p(y | x) of a batch of clips, float64 [n, 10].

    Args:
        model: the classifier (`build_classifier` or a loaded ``classifier.keras``).
        audio: float [n, time]; padded with zeros or cut at the end to the model's length.
        batch_size: int.
    """
    audio = fit_to_model(model, audio)
    # a direct call per batch: model.predict traces a new function for every model and
    # costs seconds more than the few batches of an evaluation
    parts = [np.asarray(model(audio[i:i + batch_size], training=False), dtype=np.float64)
             for i in range(0, len(audio), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, N_CLASSES))


def fit_to_model(model, audio):
    """`audio` [n, time] padded with zeros or cut at the end to the model's input length."""
    audio = np.asarray(audio, dtype=np.float32)
    length = model.inputs[0].shape[1]
    if audio.shape[1] < length:
        audio = np.pad(audio, [(0, 0), (0, length - audio.shape[1])])
    return audio[:, :length]


def load_classifier(path):
    """A saved ``classifier.keras`` (a file, or a folder holding one).

    Raises:
        dsp.audio.InputError: the file is missing or not a Keras model.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "classifier.keras"
    if not path.is_file():
        raise InputError(f"{path}: no classifier (train one with python -m wavegan.train_classifier)")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # keras raises many kinds for a bad archive
        raise InputError(f"{path}: not a loadable Keras model ({exc})") from None
