"""Packaging speech into ResGAN pulse data (resgan.packaging, resgan.pitch, resgan.gci)."""
import librosa
import numpy as np
import pytest
import scipy.signal

import data_utils
from corpus.synth import make_corpus
from dsp.audio import InputError, load_audio, resample, write_wav
from dsp.filters import de_emphasis
from dsp.lpc import lsf_to_poly
from resgan import gci, pitch
from resgan import netcdf as du
from resgan import packaging as rp
from resgan.constants import CENTRE

SR = 16000
TOLERANCE = 8  # samples = 0.5 ms at 16 kHz


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """8 synthetic utterances with ground truth, analysed once."""
    root = tmp_path_factory.mktemp("syn")
    wavs = make_corpus(root, n_utterances=8, seconds_per_utt=(1.5, 2.5), seed=3)
    out = []
    for wav in wavs:
        x, sr = load_audio(wav, SR)
        truth = np.load(root / "truth" / f"{wav.stem}.npz")
        out.append((wav, x, truth, rp.analyze_utterance(x, sr)))
    return root, out


def test_gci_hit_rate_and_f0_on_synthetic_corpus(synthetic):
    _, utts = synthetic
    hits = total = false_alarms = detected = 0
    gross = voiced_frames = 0
    for _, _, truth, u in utts:
        g_true = truth["gci"]
        dist = np.abs(g_true[:, None] - u.gci[None, :]).min(axis=1)
        hits += int(np.sum(dist <= TOLERANCE))
        total += g_true.size
        back = np.abs(u.gci[:, None] - g_true[None, :]).min(axis=1)
        false_alarms += int(np.sum(back > TOLERANCE))
        detected += u.gci.size
        both = truth["voiced"] & u.voiced
        gross += int(np.sum(np.abs(u.f0[both] / truth["f0"][both] - 1.0) > 0.2))
        voiced_frames += int(both.sum())
    hit_rate, fa_rate, gross_rate = hits / total, false_alarms / detected, gross / voiced_frames
    print(f"GCI hit rate within +-0.5 ms: {hit_rate:.3f} of {total} true GCIs; "
          f"false alarms {fa_rate:.3f}; F0 gross error rate {gross_rate:.4f}")
    assert hit_rate >= 0.95
    assert fa_rate < 0.1
    assert gross_rate < 0.05


def test_voicing_agrees_with_truth(synthetic):
    _, utts = synthetic
    agree = np.mean(np.concatenate([u.voiced == truth["voiced"] for _, _, truth, u in utts]))
    print(f"voicing agreement with the truth: {agree:.3f}")
    assert agree > 0.95, agree


def test_pulses_centred_unit_energy_finite(synthetic):
    _, utts = synthetic
    offsets = []
    for _, _, _, u in utts:
        assert u.inputs.shape == (u.f0.shape[0], 22) and u.targets.shape == (u.f0.shape[0], 400)
        assert np.all(np.isfinite(u.inputs)) and np.all(np.isfinite(u.targets))
        energy = np.sum(u.targets.astype(np.float64) ** 2, axis=1)
        nonzero = energy > 0
        np.testing.assert_allclose(energy[nonzero], 1.0, rtol=1e-4)
        assert nonzero[u.voiced].all()
        offsets.append(np.abs(np.argmax(np.abs(u.targets[u.voiced]), axis=1) - CENTRE))
        # voiced pulses span two periods: zero outside +-period around the centre
        rows = np.flatnonzero(u.voiced)
        half = np.minimum(np.round(SR / u.f0[rows]).astype(int), CENTRE - 1)
        for r, h in zip(rows[::50], half[::50]):
            assert np.all(u.targets[r, :CENTRE - h - 1] == 0) and np.all(u.targets[r, CENTRE + h + 2:] == 0)
        np.testing.assert_array_equal(u.inputs[:, 21], u.voiced.astype(np.float32))
        np.testing.assert_allclose(np.exp(u.inputs[u.voiced, 20]), u.f0[u.voiced], rtol=1e-4)
    offsets = np.concatenate(offsets)
    print(f"voiced pulse peak within 3 samples of 200: {np.mean(offsets <= 3):.3f}, "
          f"within 5: {np.mean(offsets <= 5):.3f}")
    assert np.median(offsets) <= 2
    assert np.mean(offsets <= 5) >= 0.8


def test_yin_on_known_pulse_train():
    t = np.arange(int(1.5 * SR)) / SR
    f0 = 110.0 * 2 ** (0.5 * np.sin(2 * np.pi * 0.7 * t))  # 78 .. 156 Hz glide
    phase = np.cumsum(f0 / SR)
    e = np.zeros_like(t)
    e[np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1] = 1.0
    x = scipy.signal.lfilter([1.0], [1.0, -1.3, 0.8], e)
    x[SR // 2:SR // 2 + 1600] = 1e-4 * np.random.default_rng(0).normal(size=1600)  # 100 ms pause
    p = pitch.yin(x, SR, 80)
    frames_f0 = np.interp(np.arange(p.f0.shape[0]) * 80, np.arange(t.size), f0)
    pause = slice(SR // 2 // 80 + 2, (SR // 2 + 1600) // 80 - 2)
    assert not p.voiced[pause].any()
    v = p.voiced.copy()
    v[:3] = v[-3:] = False
    assert v.mean() > 0.8
    assert np.max(np.abs(p.f0[v] / frames_f0[v] - 1)) < 0.03
    log_f0 = pitch.interpolated_log_f0(p.f0, p.voiced)
    assert np.all(np.isfinite(log_f0)) and np.all(np.diff(log_f0[pause]) != 0)  # interpolated, not flat
    np.testing.assert_allclose(pitch.interpolated_log_f0(np.zeros(4), np.zeros(4, bool)), np.log(100.0))


def test_inverse_filter_recovers_excitation():
    rng = np.random.default_rng(1)
    lsf = np.sort(rng.uniform(0.1, 3.0, 30))
    lsf_frames = np.tile(lsf, (101, 1))
    a = lsf_to_poly(lsf)
    e = rng.normal(size=8000)
    x = de_emphasis(scipy.signal.lfilter([1.0], a, e), 0.97)
    r = gci.inverse_filter(x, lsf_frames, 80, 0.97)
    np.testing.assert_allclose(r, e, atol=1e-8)
    # time-varying: the interpolated filter lies between the two frames' filters
    lsf2 = np.sort(rng.uniform(0.1, 3.0, 30))
    blocks = gci.sample_lsf(np.stack([lsf, lsf2]), 80, 80)
    assert np.all(np.diff(blocks, axis=1) > 0)
    np.testing.assert_allclose(blocks[0], lsf * (1 - 7.5 / 80) + lsf2 * 7.5 / 80)


def test_package_end_to_end(synthetic, tmp_path):
    root, _ = synthetic
    out, test, figs = tmp_path / "train", tmp_path / "test", tmp_path / "figures"
    (out).mkdir()
    (out / "data.nc7").write_bytes(b"stale")  # replaced, not mixed in
    summary = rp.package(root / "wav", out, test, test_fraction=0.25, files_per_nc=3, figures_every=4,
                         figures_dir=figs, seed=0, progress=False)
    assert summary["n_train"] == 6 and summary["n_test"] == 2
    assert [p.name for p in du.list_data_files(out)] == ["data.nc1", "data.nc2"]
    assert [p.name for p in du.list_data_files(test)] == ["data.nc1"]
    train = [du.read_netcdf(p) for p in du.list_data_files(out)]
    tst = du.read_netcdf(du.list_data_files(test)[0])
    assert sum(len(d.seq_tags) for d in train) == 6 and len(tst.seq_tags) == 2
    assert not set(tst.seq_tags) & {t for d in train for t in d.seq_tags}
    # z-normalised with the training statistics (shared by the test split)
    inputs = np.concatenate([d.inputs for d in train]).astype(np.float64)
    np.testing.assert_allclose(inputs.mean(0), 0, atol=1e-4)
    std = inputs.std(0)
    assert np.allclose(std, 1, atol=1e-3)
    np.testing.assert_array_equal(tst.input_means, train[0].input_means)
    # de-normalised targets are the unit-energy pulses
    energy = np.sum(np.concatenate([d.targets for d in train]).astype(np.float64) ** 2, axis=1)
    assert np.allclose(energy[energy > 0.5], 1.0, atol=1e-3) and np.mean(energy > 0.5) > 0.95
    raw = train[0].inputs * train[0].input_stdevs + train[0].input_means
    assert set(np.round(raw[:, 21], 4)) <= {0.0, 1.0}
    assert "21: voicing flag" in train[0].attrs["input_columns"]
    assert sorted(p.name for p in figs.glob("*.png")) == sorted(
        f"packaging_{w.stem}.png" for w in sorted((root / "wav").glob("*.wav"))[::4])
    assert not list(out.glob(".packaging_*"))  # temporary folder removed


def test_package_bad_wav_fails_cleanly(tmp_path):
    wav_dir = tmp_path / "wavs"
    wav_dir.mkdir()
    rng = np.random.default_rng(0)
    write_wav(wav_dir / "good.wav", 0.1 * rng.normal(size=SR), SR)
    (wav_dir / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    out = tmp_path / "train"
    with pytest.raises(InputError, match="broken.wav"):
        rp.package(wav_dir, out, tmp_path / "test", figures_every=0, progress=False)
    assert not list(out.glob("data.nc*")) and not list(out.glob(".packaging_*"))


def _vowel(f0_track, seed=0):
    """A vowel with a known F0 per sample: a pulse train at f0_track (Hz) through a glottal
    low-pass and three formants (700, 1200, 2600 Hz), plus noise 60 dB down."""
    phase = np.cumsum(f0_track / SR)
    e = np.zeros(len(f0_track))
    e[np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1] = 1.0
    glottal = scipy.signal.lfilter([1.0], [1.0, -1.9, 0.9025], e)
    poles = [r * np.exp(s * 2j * np.pi * f / SR) for f, r in ((700, 0.97), (1200, 0.96), (2600, 0.95))
             for s in (1, -1)]
    x = scipy.signal.lfilter([1.0], np.poly(poles).real, glottal)
    x += 1e-3 * np.std(x) * np.random.default_rng(seed).standard_normal(len(x))
    return 0.3 * x / np.abs(x).max()


@pytest.mark.parametrize("f0_hz", [95.0, 150.0, 230.0, "glide"])
def test_analysis_recovers_a_known_f0(f0_hz):
    """The packaged F0 (voiced flag, column 20 and the f0 track) of a vowel of known F0,
    through the whole per-utterance analysis: every inner frame voiced, median error
    < 0.3 %, worst < 1 % (a period is rounded to whole samples in the signal)."""
    n = int(1.2 * SR)
    t = np.arange(n) / SR
    track = 110.0 * 2 ** (0.8 * t / 1.2) if f0_hz == "glide" else np.full(n, f0_hz)  # 110 -> 191 Hz
    u = rp.analyze_utterance(_vowel(track), SR)
    true = np.interp(np.arange(len(u.f0)) * 80, np.arange(n), track)
    inner = slice(5, -5)
    assert u.voiced[inner].all()
    err = np.abs(u.f0[inner] / true[inner] - 1)
    assert np.median(err) < 0.003 and err.max() < 0.01, (np.median(err), err.max())
    np.testing.assert_allclose(np.exp(u.inputs[u.voiced, 20]), u.f0[u.voiced], rtol=1e-4)


def test_real_recordings_give_plausible_features(realdata, tmp_path):
    """Real LJSpeech: finite features, unit-energy voiced pulses, and an F0 track that agrees
    with an independent estimator (librosa's pYIN) on the frames both call voiced."""
    wavs = sorted((realdata / "ljspeech_sample" / "wavs").glob("*.wav"))[:3]
    assert wavs, "no LJSpeech sample recordings"
    ours, ref = [], []
    for wav in wavs:
        x, sr = load_audio(wav)
        x = resample(x, sr, SR)
        u = rp.analyze_utterance(x, SR)
        assert np.all(np.isfinite(u.inputs)) and np.all(np.isfinite(u.targets))
        assert 0.2 < u.voiced.mean() < 0.9
        energy = np.sum(u.targets.astype(np.float64) ** 2, axis=1)
        np.testing.assert_allclose(energy[u.voiced], 1.0, rtol=1e-4)
        # pYIN frame j is centred on sample 320 j, ours t on 80 t: ours[4 j] is the same instant
        f0, voiced, _ = librosa.pyin(x, fmin=60, fmax=400, sr=SR, frame_length=1024, hop_length=320)
        k = min(len(f0), len(u.f0[::4]))
        both = voiced[:k] & u.voiced[::4][:k]
        ours.append(u.f0[::4][:k][both])
        ref.append(f0[:k][both])
    ours, ref = np.concatenate(ours), np.concatenate(ref)
    ratio = ours / ref
    print(f"LJSpeech sample: median F0 {np.median(ours):.1f} Hz (pYIN {np.median(ref):.1f} Hz) "
          f"on {ours.size} frames; within 5 %: {np.mean(np.abs(ratio - 1) < 0.05):.3f}, "
          f"off by > 20 %: {np.mean(np.abs(ratio - 1) > 0.2):.3f}")
    assert ours.size > 200
    assert abs(np.median(ours) / np.median(ref) - 1) < 0.05
    assert np.mean(np.abs(ratio - 1) < 0.05) > 0.75
    assert np.mean(np.abs(ratio - 1) > 0.2) < 0.06


def test_package_cli_bad_folder_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        data_utils.main(["package", "--wav_dir", str(tmp_path / "missing"), "--out_dir", str(tmp_path / "o"),
                 "--test_dir", str(tmp_path / "t")])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "missing" in err[0]
    assert not (tmp_path / "o").exists()


def test_package_two_workers_and_skip_bad_match_serial(synthetic, tmp_path):
    root, _ = synthetic
    wav_dir = tmp_path / "wavs"
    wav_dir.mkdir()
    for wav in sorted((root / "wav").glob("*.wav"))[:2]:
        (wav_dir / wav.name).write_bytes(wav.read_bytes())
    (wav_dir / "zz_broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    serial = rp.package(wav_dir, tmp_path / "s", tmp_path / "st", test_fraction=0, figures_every=0,
                        progress=False, skip_bad=True)
    parallel = rp.package(wav_dir, tmp_path / "p", tmp_path / "pt", test_fraction=0, figures_every=0,
                          progress=False, skip_bad=True, jobs=2)
    assert serial["skipped"] == parallel["skipped"] == ["zz_broken"]
    a, b = du.read_netcdf(serial["train_files"][0]), du.read_netcdf(parallel["train_files"][0])
    assert a.seq_tags == b.seq_tags and len(a.seq_tags) == 2
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
