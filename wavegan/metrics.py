"""The GAN papers' scores: inception score, label entropy, nearest neighbours, consistency.

numpy only: the classifier's probabilities come in as arrays (`wavegan.classifier`
computes them), so these functions are cheap to test and to reuse.

* `inception_score` (Salimans et al. 2016, as WaveGAN reports it on SC09):
  ``exp(E_x[KL(p(y|x) || p(y))])`` over 10 splits, mean and standard deviation.
  A classifier that is sure of every clip and sees every digit equally often
  gives 10; one digit only, or no confidence, gives 1.
* `label_entropy`: entropy (nats) of the marginal p(y) = E_x p(y|x), at most
  ln 10 = 2.303 (all digits equally often); low values mean a collapsed
  generator. `conditional_entropy` is E_x H(p(y|x)) (low: clear digits);
  log IS = label entropy - conditional entropy.
* `nearest_neighbour_distances` (WaveGAN sec. 6.1, D_self and D_train):
  the mean distance of each generated clip to its nearest neighbour within
  the generated set (small: mode collapse) and in the training set (small:
  memorisation). Computed on `nn_features` (log-mel, see there), as the root
  mean square difference per feature, i.e. a Euclidean distance divided by
  the square root of the dimension, so values are on the [0, 1] scale of
  `dsp.spectral.log_mel_spectrogram` (1 = 100 dB).
* `consistency` (Marafioti et al. 2019, sec. 4, the TiFGAN paper's
  measure; see its docstring).
"""
import numpy as np

from dsp.spectral import log_mel_spectrogram

EPS = 1e-12


def _check_probs(probs):
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"probabilities must be [n, classes] with n > 0, not {probs.shape}")
    return probs


def inception_score(probs, splits=10, shuffle_seed=None):
    """Inception score of classifier outputs, over `splits` consecutive equal parts.

    Args:
        probs: float [n, classes], p(y | x) of each clip (rows sum to 1).
        splits: int, number of parts (10 in the papers); fewer if n < splits.
        shuffle_seed: None (the parts are consecutive clips, as in the papers' code:
            right for generated clips, which come in random order) or an int, the seed
            of a fixed shuffle first: needed for a sorted set (real clips listed digit by
            digit would give parts of one digit each, and a score near 1).
    Returns:
        (mean, std): floats over the parts, each part's score being
        ``exp(mean_x KL(p(y|x) || p_part(y)))``.
    """
    probs = _check_probs(probs)
    if shuffle_seed is not None:
        probs = probs[np.random.default_rng(shuffle_seed).permutation(len(probs))]
    splits = max(1, min(int(splits), len(probs)))
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + EPS) - np.log(marginal + EPS)), axis=1)
        scores.append(np.exp(np.mean(kl)))
    return float(np.mean(scores)), float(np.std(scores))


def label_entropy(probs):
    """Entropy in nats of the marginal label distribution E_x p(y|x) (max ln classes).

    Args:
        probs: float [n, classes].
    Returns:
        float.
    """
    marginal = _check_probs(probs).mean(axis=0)
    return float(-np.sum(marginal * np.log(marginal + EPS)))


def conditional_entropy(probs):
    """Mean entropy in nats of p(y|x) over the clips (0: the classifier is always sure).

    Args:
        probs: float [n, classes].
    Returns:
        float.
    """
    probs = _check_probs(probs)
    return float(np.mean(-np.sum(probs * np.log(probs + EPS), axis=1)))


def label_histogram(probs):
    """How many clips the classifier assigns to each class (argmax): int [classes]."""
    probs = _check_probs(probs)
    return np.bincount(np.argmax(probs, axis=1), minlength=probs.shape[1])


def nn_features(audio, sr=8000, n_fft=512, hop_length=128, n_mels=64):
    """Flattened log-mel features for the nearest-neighbour distances.

    Args:
        audio: float [n, time] (all clips of one length).
        sr, n_fft, hop_length, n_mels: the analysis (64 mel bins, 0 - sr/2 Hz).
    Returns:
        float32 [n, frames * n_mels], values in [0, 1] (`dsp.spectral.log_mel_spectrogram`:
        -100 .. 0 dB relative to 20 dB above full scale).
    """
    audio = np.asarray(audio, dtype=np.float32)
    feats = log_mel_spectrogram(audio, sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels,
                                fmin=0.0, fmax=sr / 2.0)
    return feats.reshape(len(audio), -1).astype(np.float32)


def _nearest(query, reference, exclude_self, chunk=256):
    """Distance of each query row to its nearest reference row (RMS per feature)."""
    ref_sq = np.sum(reference.astype(np.float64) ** 2, axis=1)
    out = np.empty(len(query))
    for start in range(0, len(query), chunk):
        q = query[start:start + chunk].astype(np.float64)
        d2 = np.sum(q ** 2, axis=1)[:, None] + ref_sq[None, :] - 2.0 * q @ reference.T
        if exclude_self:  # the query set is the reference set: skip each row's own entry
            rows = np.arange(len(q))
            d2[rows, start + rows] = np.inf
        out[start:start + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out / np.sqrt(query.shape[1])


def nearest_neighbour_distances(features, train_features):
    """WaveGAN's D_self and D_train on any features.

    Args:
        features: float [n, dim], the generated (or evaluated) clips, n >= 2.
        train_features: float [m, dim], the training clips.
    Returns:
        (nn_self, nn_train): mean RMS-per-feature distance to the nearest other clip
        of the set, and to the nearest training clip.
    """
    features = np.asarray(features, dtype=np.float32)
    train_features = np.asarray(train_features, dtype=np.float32)
    if len(features) < 2 or features.shape[1:] != train_features.shape[1:]:
        raise ValueError(f"need >= 2 clips of the training features' shape "
                         f"{train_features.shape[1:]}, got {features.shape}")
    nn_self = _nearest(features, features, exclude_self=True)
    nn_train = _nearest(features, train_features, exclude_self=False)
    return float(nn_self.mean()), float(nn_train.mean())


def consistency(log_magnitude, hop_length=64, n_fft=256, lam=None):
    """TiFGAN's consistency measure of log-magnitude spectrograms (higher: more consistent).

    For a Gaussian window g(t) = exp(-pi t^2 / lam), the STFT is, up to a known
    factor, an entire function of z = t / sqrt(lam) + i sqrt(lam) f (the
    Bargmann transform), so its log-magnitude is harmonic plus a quadratic:
    away from zeros, the Laplacian of log|X| in those coordinates is the
    constant -2 pi. On the sampled grid (hop a samples, bin 1 / M cycles per
    sample) the second differences along time and frequency therefore satisfy

        D_tt log|X| + pi a^2 / lam  =  -(D_ff log|X| + pi lam / M^2),

    (pi / 4 each in TiFGAN's setting a = M / 4, lam = a M). Phase does not
    appear, so the relation can be checked on a generated magnitude alone.
    Following the authors' code (tifresi.metrics.consistency), the measure is the
    Pearson correlation of the absolute values of the two offset second
    differences over all interior points of the spectrogram: near 1 when
    the magnitude is that of a real signal (up to the window's truncation and
    the log floor), lower for a magnitude no signal has. It is a relative
    score: compare generated spectrograms with real FSDD ones on the same grid
    (for SpecGAN's Hann window the relation holds only approximately).

    Args:
        log_magnitude: float [frames, bins] or [batch, frames, bins], natural log of
            the STFT magnitude, time-major (e.g. `wavegan.spectrograms`' grid);
            floored values (TiFGAN's -10) are fine.
        hop_length: int, a (samples).
        n_fft: int, M (the FFT size).
        lam: float, the Gaussian's time-frequency ratio in samples^2 (default a * M).
    Returns:
        float for one spectrogram, float64 [batch] for a batch.
    """
    s = np.asarray(log_magnitude, dtype=np.float64)
    if s.ndim not in (2, 3) or min(s.shape[-2:]) < 3:
        raise ValueError(f"need a [frames, bins] or [batch, frames, bins] spectrogram of at least "
                         f"3 x 3, not {s.shape}")
    single = s.ndim == 2
    s = s[None] if single else s
    lam = float(hop_length * n_fft) if lam is None else float(lam)
    centre = s[:, 1:-1, 1:-1]
    tt = s[:, :-2, 1:-1] - 2 * centre + s[:, 2:, 1:-1] + np.pi * hop_length ** 2 / lam
    ff = s[:, 1:-1, :-2] - 2 * centre + s[:, 1:-1, 2:] + np.pi * lam / n_fft ** 2
    a = np.abs(tt).reshape(len(s), -1)
    b = np.abs(ff).reshape(len(s), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1))
    rho = np.sum(a * b, axis=1) / np.maximum(denom, EPS)
    return float(rho[0]) if single else rho
