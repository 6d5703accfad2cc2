"""Synthetic corpus: glottal model, vocal tract, ground-truth consistency, determinism."""

import csv
import math

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import csd, freqz, lfilter, welch

from corpus.glottal import LFTable, lf_pulse, lf_timing
from corpus.synth import (
    Speaker, frame_hop_for, load_truth, make_corpus, make_speakers, synthesize_utterance,
)
from corpus.vocal_tract import (
    VOWELS, allpole_filter_blocks, formant_target, formants_to_lpc, n_formants_for,
)
from dsp.audio import InputError
from dsp.lpc import is_minimum_phase, levinson

SR = 16000


# --- glottal source -------------------------------------------------------

@pytest.mark.parametrize("rd", [0.5, 1.0, 1.7])
def test_lf_pulse_zero_net_flow_and_peak_at_te(rd):
    t = (np.arange(200000) + 0.5) / 200000
    e = lf_pulse(t, rd)
    _, te, _ = lf_timing(rd)
    assert abs(np.mean(e)) < 1e-6  # flow returns to zero at the end of the period
    assert e.min() == pytest.approx(-1.0, abs=1e-3)  # Ee = 1
    assert t[np.argmin(e)] == pytest.approx(te, abs=1e-4)  # main negative peak at te
    assert abs(e[-1]) < 1e-3  # return phase has decayed


def test_lf_tilt_grows_with_rd():
    """Breathier pulses (larger Rd) have less high-frequency energy relative to the fundamental."""
    table = LFTable(rd_grid=[0.6, 1.8], resolution=4096)
    ratios = []
    for row in table.table:
        spec = np.abs(np.fft.rfft(np.tile(row[:-1], 4)))
        ratios.append(spec[4 * 20] / spec[4])  # 20th harmonic / fundamental
    assert ratios[1] < 0.5 * ratios[0]


# --- vocal tract -----------------------------------------------------------

def test_formants_to_lpc_poles_at_formants():
    freqs, bws = formant_target("aa", 1.0, SR)
    a = formants_to_lpc(freqs, bws, SR)
    assert a.shape == (2 * n_formants_for(SR) + 1,) and a[0] == 1.0
    roots = np.roots(a)
    upper = roots[np.imag(roots) > 0]
    got = np.sort(np.angle(upper) * SR / (2 * np.pi))
    np.testing.assert_allclose(got, np.sort(freqs), rtol=1e-6)
    got_bw = -np.log(np.abs(upper[np.argsort(np.angle(upper))])) * SR / np.pi
    np.testing.assert_allclose(got_bw, bws[np.argsort(freqs)], rtol=1e-6)


def test_envelope_peaks_at_vowel_formants():
    for vowel in ("iy", "aa", "uw"):
        f, b = formant_target(vowel, 1.0, SR)
        w, h = freqz([1.0], formants_to_lpc(f, b, SR), worN=8192, fs=SR)
        mag = np.abs(h)
        for fk in f[:3]:  # F1..F3 are local maxima of 1/|A|
            i = int(np.argmin(np.abs(w - fk)))
            lo, hi = max(i - 40, 0), i + 40  # +-39 Hz
            assert abs(w[lo + np.argmax(mag[lo:hi])] - fk) < 40, (vowel, fk)


def test_formants_clamped_below_nyquist_at_8k():
    for phone in list(VOWELS) + ["s", "sh", "f"]:
        f, _ = formant_target(phone, 1.22, 8000)
        assert f.max() < 0.9 * 4000 + 1e-9
        assert len(np.unique(f)) == len(f)


def test_time_varying_filter_equals_sample_recursion():
    rng = np.random.default_rng(3)
    hop, nb = 40, 12
    phones = rng.choice(list(VOWELS), nb)
    fb = [formant_target(p, 1.0, SR) for p in phones]
    lpc = formants_to_lpc(np.stack([f for f, _ in fb]), np.stack([b for _, b in fb]), SR)
    x = rng.standard_normal(nb * hop - 7)
    starts = np.maximum(np.arange(nb) * hop - hop // 2, 0)
    y = allpole_filter_blocks(x, lpc, starts)
    p = lpc.shape[1] - 1
    ref = np.zeros(len(x) + p)
    block = np.searchsorted(starts, np.arange(len(x)), side="right") - 1
    for n in range(len(x)):
        ref[n + p] = x[n] - np.dot(lpc[block[n], 1:], ref[n + p - 1 : n - 1 if n else None : -1][:p])
    np.testing.assert_allclose(y, ref[p:], rtol=1e-9, atol=1e-9 * np.abs(ref).max())


# --- ground truth of synthesized utterances -------------------------------

@pytest.fixture(scope="module")
def utterances():
    speakers = make_speakers(4)
    return [synthesize_utterance(spk, 2.5, sr=SR, rng=10 + i, return_components=True)
            for i, spk in enumerate(speakers)]


def test_truth_shapes_and_ranges(utterances):
    for u in utterances:
        n = len(u["audio"])
        hop = u["frame_hop"]
        assert hop == 80 == frame_hop_for(SR)
        n_frames = math.ceil(n / hop)
        assert u["f0"].shape == u["voiced"].shape == (n_frames,)
        assert u["lpc"].shape == (n_frames, 2 * n_formants_for(SR) + 1)
        assert u["audio"].dtype == np.float32 and np.all(np.isfinite(u["audio"]))
        assert np.max(np.abs(u["audio"])) == pytest.approx(0.9, abs=0.01)
        assert np.all((u["f0"] > 0) == u["voiced"])
        assert 0.2 < u["voiced"].mean() < 0.95  # speech with pauses and fricatives
        assert np.all((u["f0"][u["voiced"]] >= 80) & (u["f0"][u["voiced"]] <= 300))
        assert np.all(np.diff(u["gci"]) > 0) and u["gci"][0] >= 0 and u["gci"][-1] < n
        assert u["text"]


def test_speakers_have_distinct_f0_ranges(utterances):
    med = [np.median(u["f0"][u["voiced"]]) for u in utterances]
    assert med[0] < 160 and med[1] > 165  # spk1 male, spk2 female
    assert np.ptp(med) > 60


def test_lpc_minimum_phase(utterances):
    for u in utterances:
        assert np.all(u["lpc"][:, 0] == 1.0)
        assert np.all(is_minimum_phase(u["lpc"]))
        roots = np.roots(u["lpc"][len(u["lpc"]) // 2])
        assert np.abs(roots).max() < 1.0


def test_voiced_flags_match_glottal_source(utterances):
    for u in utterances:
        pos = np.arange(len(u["f0"])) * u["frame_hop"]
        np.testing.assert_array_equal(u["glottal"][pos] != 0, u["voiced"])
        # fricative noise only where the glottis is not vibrating
        assert not np.any((u["frication"] != 0) & (u["glottal"] != 0))


def test_gci_spacing_matches_f0_within_jitter(utterances):
    rel = []
    for u in utterances:
        g, hop = u["gci"], u["frame_hop"]
        f0_at = np.interp((g[1:] + g[:-1]) / 2, np.arange(len(u["f0"])) * hop,
                          np.where(u["voiced"], u["f0"], np.nan))
        period = SR / f0_at
        d = np.diff(g)
        same_run = d < 1.5 * period  # consecutive GCIs of one voiced stretch
        assert same_run.mean() > 0.9
        rel.append(d[same_run] / period[same_run] - 1.0)
    rel = np.concatenate(rel)
    rel = rel[np.isfinite(rel)]
    assert np.median(np.abs(rel)) < 0.015  # jitter is about 1 %
    assert np.percentile(np.abs(rel), 95) < 0.04
    assert np.abs(rel).max() < 0.12


def test_gci_is_main_negative_peak_of_glottal_derivative(utterances):
    for u in utterances:
        g, e = u["gci"], u["glottal"]
        assert np.all(e[g] < 0)
        assert np.all(e[g] <= e[g - 1]) and np.all(e[g] <= e[np.minimum(g + 1, len(e) - 1)])
        # strongest excitation of its cycle: the minimum within +-40 % of a period
        for k in range(1, len(g) - 1, 7):
            half = int(0.4 * min(g[k] - g[k - 1], g[k + 1] - g[k]))
            assert e[g[k]] == e[g[k] - half : g[k] + half + 1].min()


def test_aspiration_is_modulated_by_glottal_cycle(utterances):
    u = utterances[3]  # the breathiest speaker
    g, asp = u["gci"], u["aspiration"]
    near, far = [], []
    for k in range(1, len(g) - 1):
        period = g[k + 1] - g[k]
        if period > 1.5 * (g[k] - g[k - 1]) or period < 20:
            continue
        q = period // 8
        near.append(np.mean(asp[g[k] - q : g[k] + q] ** 2))
        far.append(np.mean(asp[g[k] + 3 * q : g[k] + 5 * q] ** 2))
    assert np.mean(near) > 3.0 * np.mean(far)


def test_sustained_vowel_transfer_function_is_known_lpc():
    """Filtering is exact: speech/excitation cross-spectrum = freqz(1, a) of the truth."""
    spk = Speaker("t", 100.0, 120.0, 1.0, 1.0, 0.0, 0.0, 0.08)
    u = synthesize_utterance(spk, plan=[("pau", 0.05), ("aa", 1.5), ("pau", 0.05)], sr=SR,
                             rng=1, return_components=True)
    a = u["lpc"][len(u["lpc"]) // 2]
    assert np.abs(u["lpc"] - a).max() == 0.0  # one vowel: the tract is constant
    f, pxx = welch(u["excitation"], SR, nperseg=2048)
    _, pxy = csd(u["excitation"], u["speech"], SR, nperseg=2048)
    _, h = freqz([1.0], a, worN=f, fs=SR)
    band = (f > 60) & (f < 7500)
    err_db = 20 * np.log10(np.abs(pxy[band] / pxx[band])) - 20 * np.log10(np.abs(h[band]))
    assert np.sqrt(np.mean(err_db**2)) < 0.3
    # And an LPC analysis of the audio alone (pre-emphasised, order 16) finds F1..F3.
    x = lfilter([1.0, -0.97], [1.0], u["audio"][int(0.1 * SR) : int(1.5 * SR)].astype(np.float64))
    _, p = welch(x, SR, nperseg=1024)
    a_hat, _ = levinson(np.fft.irfft(p)[:17], 16)
    roots = np.roots(a_hat)
    est = np.sort(np.angle(roots[np.imag(roots) > 0]) * SR / (2 * np.pi))
    for fk in formant_target("aa", 1.0, SR)[0][:3]:
        assert np.min(np.abs(est - fk)) / fk < 0.08


# --- corpus writing ---------------------------------------------------------

def test_make_corpus_deterministic_and_prefix_stable(tmp_path):
    p1 = make_corpus(tmp_path / "a", n_utterances=3, seconds_per_utt=(0.8, 1.2), seed=5)
    p2 = make_corpus(tmp_path / "b", n_utterances=3, seconds_per_utt=(0.8, 1.2), seed=5)
    p3 = make_corpus(tmp_path / "c", n_utterances=1, seconds_per_utt=(0.8, 1.2), seed=6)
    assert [p.name for p in p1] == ["syn_spk1_0001.wav", "syn_spk2_0001.wav", "syn_spk3_0001.wav"]
    for a, b in zip(p1, p2):
        assert a.read_bytes() == b.read_bytes()
        ta = np.load(a.parent.parent / "truth" / f"{a.stem}.npz")
        tb = np.load(b.parent.parent / "truth" / f"{b.stem}.npz")
        for key in ("f0", "voiced", "gci", "lpc", "frame_hop", "sr"):
            np.testing.assert_array_equal(ta[key], tb[key])
    assert p1[0].read_bytes() != p3[0].read_bytes()
    p4 = make_corpus(tmp_path / "a", n_utterances=1, seconds_per_utt=(0.8, 1.2), seed=5)
    assert p4[0].read_bytes() == p2[0].read_bytes()  # first N do not depend on the total
    # regenerated smaller into the same folder: the stale utterances are gone
    assert sorted(p.name for p in (tmp_path / "a" / "wav").iterdir()) == ["syn_spk1_0001.wav"]
    assert sorted(p.name for p in (tmp_path / "a" / "truth").iterdir()) == ["syn_spk1_0001.npz"]


def test_make_corpus_duration_layout_and_truth(tmp_path):
    out = tmp_path / "syn"
    paths = make_corpus(out, minutes=0.12, seconds_per_utt=(1.0, 1.6), sr=16000, n_speakers=2, seed=0)
    durations = []
    for p in paths:
        info = sf.info(str(p))
        assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
        durations.append(info.frames / 16000)
        truth = load_truth(p)
        assert truth["sr"] == 16000 and truth["frame_hop"] == 80 and truth["speaker"] == p.stem.split("_")[1]
        assert truth["frame_times"][1] == pytest.approx(0.005)
        assert len(truth["f0"]) == math.ceil(info.frames / 80)
        assert truth["gci"].max() < info.frames
    assert all(1.0 - 1e-3 <= d <= 1.6 + 1e-3 for d in durations)
    assert 0.12 * 60 <= sum(durations) < 0.12 * 60 + 1.6
    rows = list(csv.reader(open(out / "metadata.csv"), delimiter="|"))
    assert [r[0] for r in rows] == [p.stem for p in paths]
    assert all(len(r) == 3 and r[1] == r[2] and r[1] for r in rows)
    assert {p.stem.split("_")[1] for p in paths} == {"spk1", "spk2"}
    assert not list(out.rglob("*.tmp*"))  # atomic writes left nothing behind
    with pytest.raises(InputError, match=r"nope\.npz: ground-truth file not found"):
        load_truth(out / "truth" / "nope.npz")


def test_hop_scales_with_sample_rate():
    u = synthesize_utterance(make_speakers(1)[0], 0.8, sr=22050, rng=0)
    assert u["frame_hop"] == 110 and len(u["f0"]) == math.ceil(len(u["audio"]) / 110)
    assert np.all(is_minimum_phase(u["lpc"]))


def test_make_corpus_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="seconds_per_utt"):
        make_corpus(tmp_path, n_utterances=1, seconds_per_utt=(2.0, 1.0))
    with pytest.raises(ValueError, match="n_speakers"):
        make_corpus(tmp_path, n_utterances=1, n_speakers=0)


# --- property test ------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=8, deadline=None)
@given(seconds=st.floats(0.3, 1.5), sr=st.sampled_from([8000, 16000, 22050]),
       speaker=st.integers(0, 5), seed=st.integers(0, 2**31 - 1))
def test_truth_invariants_property(seconds, sr, speaker, seed):
    u = synthesize_utterance(make_speakers(6, seed=1)[speaker], seconds, sr=sr, rng=seed)
    n, hop = len(u["audio"]), u["frame_hop"]
    assert n == round(seconds * sr) or abs(n - seconds * sr) <= 1
    assert hop == round(0.005 * sr) and len(u["f0"]) == math.ceil(n / hop)
    assert u["voiced"].any() and np.all((u["f0"] > 0) == u["voiced"])
    assert np.all(is_minimum_phase(u["lpc"])) and np.all(u["lpc"][:, 0] == 1.0)
    assert len(u["gci"]) > 0 and np.all(np.diff(u["gci"]) > 0) and u["gci"][-1] < n
    assert np.all(np.isfinite(u["audio"])) and np.max(np.abs(u["audio"])) == pytest.approx(0.9, abs=0.01)
