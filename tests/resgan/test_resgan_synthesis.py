"""ResGAN synthesis (resgan.synthesis, synthesize.py): PSOLA at a known F0, level from c0,
copy-synthesis, the .pls files, CLI errors."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

from corpus.synth import make_corpus
from dsp.audio import InputError, load_audio
from dsp.metrics import mel_cepstral_distortion
from dsp.mfcc import MfccConfig, analyze
from resgan import synthesis as rs
from resgan.packaging import analyze_utterance

REPO = Path(__file__).resolve().parents[2]

SR = 16000


def _autocorr_f0(x, fmin=60, fmax=400):
    x = x - x.mean()
    r = np.correlate(x, x, "full")[len(x) - 1:]
    lo, hi = SR // fmax, SR // fmin
    seg = r[lo:hi]
    # the first local maximum within 10 % of the best one (avoids octave errors)
    peaks = [i for i in range(1, len(seg) - 1)
             if seg[i] >= seg[i - 1] and seg[i] >= seg[i + 1] and seg[i] > 0.9 * seg.max()]
    lag = lo + peaks[0]
    # parabolic interpolation of the peak
    a, b, c = r[lag - 1], r[lag], r[lag + 1]
    return SR / (lag + 0.5 * (a - c) / (a - 2 * b + c))


@pytest.mark.parametrize("f0_hz", [100.0, 155.0, 230.0])
def test_psola_of_a_pulse_train_reproduces_f0(f0_hz):
    n = 200  # 1 s of frames
    f0 = np.full(n, f0_hz)
    voiced = np.ones(n, bool)
    positions, frames = rs.pitch_marks(f0, voiced)
    np.testing.assert_allclose(np.diff(positions), SR / f0_hz, atol=1.0)
    # a two-period Hann-windowed glottal-like pulse, as the packaged targets
    period = SR / f0_hz
    t = np.arange(400) - 200
    pulse = np.where(np.abs(t) < period, 0.5 + 0.5 * np.cos(np.pi * t / period), 0.0)
    pulse *= np.exp(-np.abs(t) / 8.0) * np.sign(t + 0.5)
    exc = rs.excitation(np.tile(pulse, (n, 1)), f0, voiced)
    assert abs(_autocorr_f0(exc[2000:14000]) - f0_hz) < 0.01 * f0_hz


def test_pitch_marks_follow_a_changing_f0_and_skip_unvoiced():
    f0 = np.concatenate([np.full(50, 100.0), np.zeros(30), np.full(50, 200.0)])
    voiced = f0 > 0
    positions, frames = rs.pitch_marks(f0, voiced)
    assert np.all(voiced[frames])
    gaps = np.diff(positions)
    assert np.all(np.isclose(gaps[positions[1:] < 50 * 80], 160, atol=1))
    late = (positions[:-1] > 81 * 80)
    assert np.all(np.isclose(gaps[late], 80, atol=1))
    assert not np.any((positions > 51 * 80) & (positions < 79 * 80))


def test_synthesis_level_follows_c0_and_shape_follows_envelope():
    """Resynthesis of a known all-pole signal: frame energies (c0) and the
    MFCC shape come back."""
    rng = np.random.default_rng(0)
    cfg = MfccConfig()
    n_frames = 150
    f0 = np.full(n_frames, 125.0)
    voiced = np.ones(n_frames, bool)
    voiced[100:] = False
    # reference: impulse train + noise through a fixed resonator, with a level ramp
    exc = rs.excitation(rs.impulse_pulses(n_frames), f0, voiced, seed=1)
    a = np.poly([0.95 * np.exp(1j * 0.2), 0.95 * np.exp(-1j * 0.2),
                 0.9 * np.exp(1j * 1.2), 0.9 * np.exp(-1j * 1.2)]).real
    x = scipy.signal.lfilter([1.0], a, exc) * np.linspace(0.05, 0.3, len(exc))
    x = scipy.signal.lfilter([1.0], [1.0, -0.97], x)  # "de-emphasised" speech
    ana = analyze(x, cfg)
    y = rs.synthesize(rs.impulse_pulses(n_frames), ana.mfcc, f0, voiced, cfg, seed=rng.integers(9))
    assert y.shape == (n_frames * 80,) and np.all(np.isfinite(y))
    back = analyze(y, cfg)
    inner = slice(5, -5)
    assert np.median(np.abs(back.mfcc[inner, 0] - ana.mfcc[inner, 0])) < 1.5  # dB
    corr = np.corrcoef(back.mfcc[inner, 1:8].ravel(), ana.mfcc[inner, 1:8].ravel())[0, 1]
    assert corr > 0.9


def test_copy_synthesis_prefers_real_residual_over_noise(tmp_path):
    """On a synthetic utterance, MFCC resynthesis with the recording's own
    residual pulses beats a white-noise excitation (mel-cepstral distortion)."""
    wav = make_corpus(tmp_path / "c", n_utterances=1, seconds_per_utt=(1.0, 1.2), seed=3)[0]
    x, _ = load_audio(wav, sr=SR)
    feats = analyze_utterance(x, SR)
    mfcc = feats.inputs[:, :20]
    real = rs.synthesize(feats.targets, mfcc, feats.f0, feats.voiced)[:len(x)]
    noise_pulses = np.random.default_rng(0).standard_normal(feats.targets.shape) * np.hanning(400)
    noise = rs.synthesize(noise_pulses, mfcc, feats.f0, feats.voiced)[:len(x)]
    assert mel_cepstral_distortion(x, real, SR) < mel_cepstral_distortion(x, noise, SR)


def test_cli_bad_input_is_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "synthesize.py", "--input_file", str(bad),
                           "--out_dir", str(out), "--figures_dir", str(tmp_path / "fig")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "broken.wav" in lines[0] and lines[0].startswith("error:")
    assert not out.exists() or not any(out.iterdir())


def test_pls_files_round_trip_and_recordings_are_found(tmp_path):
    pulses = np.random.default_rng(0).standard_normal((7, 400)).astype(np.float32)
    rs.write_pls(tmp_path / "a.pls", pulses)
    np.testing.assert_array_equal(rs.read_pls(tmp_path / "a.pls"), pulses)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pls"]  # no temporary file left
    (tmp_path / "bad.pls").write_bytes(b"\0" * 12)
    with pytest.raises(InputError, match="bad.pls"):
        rs.read_pls(tmp_path / "bad.pls")
    (tmp_path / "wavs" / "spk1").mkdir(parents=True)
    (tmp_path / "wavs" / "spk1" / "u1.wav").write_bytes(b"")
    assert rs.find_recording(tmp_path / "wavs", "u1") == tmp_path / "wavs" / "spk1" / "u1.wav"
    assert rs.find_recording(tmp_path / "wavs", "spk1_u1") == tmp_path / "wavs" / "spk1" / "u1.wav"
    assert rs.find_recording(tmp_path / "wavs", "u2") is None
