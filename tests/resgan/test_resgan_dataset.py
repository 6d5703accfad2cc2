"""Feeding Keras (resgan.dataset): causal context, PulseSequence, the batch mixer."""
import argparse
import pickle

import numpy as np
import pytest

from resgan import dataset as du
from resgan.netcdf import iterate_files, norm_stats, read_netcdf

RNG = np.random.default_rng(0)


def test_expand_context_known_example():
    x = np.arange(1, 6, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)  # rows 1..5
    out = du.expand_context(x, [3, 2], 3)
    assert out.shape == (5, 3, 2)
    expect = np.array([[0, 0, 1], [0, 1, 2], [1, 2, 3],    # utterance 1
                       [0, 0, 4], [0, 4, 5]], np.float32)  # utterance 2: no frames of utterance 1
    np.testing.assert_array_equal(out[:, :, 0], expect)
    np.testing.assert_array_equal(du.expand_context(x, [5], 1)[:, 0], x)


def test_expand_context_matches_naive_loop():
    lengths = [1, 6, 2, 9]
    x = RNG.normal(size=(sum(lengths), 4))
    L = 4
    out = du.expand_context(x, lengths, L)
    naive = np.zeros_like(out)
    start = 0
    for n in lengths:
        for t in range(n):
            for k in range(L):
                src = t - (L - 1) + k
                if src >= 0:
                    naive[start + t, k] = x[start + src]
        start += n
    np.testing.assert_array_equal(out, naive)
    with pytest.raises(ValueError):
        du.expand_context(x, [3], 2)


def test_pulse_sequence_covers_every_frame_once_with_correct_context(two_files):
    seq = du.PulseSequence(two_files, batch_size=4, context_len=3, shuffle=True, seed=1, cache_bytes=1)
    data = [read_netcdf(p) for p in two_files]
    ctx = [du.expand_context(d.inputs, d.seq_lengths, 3) for d in data]
    assert len(seq) == 4 + 3  # ceil(16/4) + ceil(12/4)
    seen = []
    for b in range(len(seq)):
        x, y = seq[b]
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.shape[1:] == (3, 22) and y.shape[1:] == (400,) and x.shape[0] == y.shape[0] <= 4
        for xi, yi in zip(x, y):
            f = 0 if np.any(np.all(data[0].targets == yi, axis=1)) else 1
            row = int(np.flatnonzero(np.all(data[f].targets == yi, axis=1))[0])
            np.testing.assert_array_equal(xi, ctx[f][row])
            seen.append((f, row))
        assert len(seq._cache) == 1  # memory bound: one file at a time
    assert sorted(seen) == [(0, r) for r in range(16)] + [(1, r) for r in range(12)]
    order0 = [seq[b][1][0, 0] for b in range(len(seq))]
    seq.on_epoch_end()  # Keras' calls do not move the epoch (dsp.resume.EpochSync sets it)
    assert seq.epoch == 0 and [seq[b][1][0, 0] for b in range(len(seq))] == order0
    seq.set_epoch(1)
    order1 = [seq[b][1][0, 0] for b in range(len(seq))]
    assert order0 != order1  # reshuffled each epoch
    seq.set_epoch(0)
    assert [seq[b][1][0, 0] for b in range(len(seq))] == order0  # a function of the epoch only
    again = du.PulseSequence(two_files, batch_size=4, context_len=3, shuffle=True, seed=1)
    assert [again[b][1][0, 0] for b in range(len(again))] == order0  # deterministic for a seed


def test_iterate_files_inputs_only_and_norm_stats(two_files):
    datas = list(iterate_files(two_files))
    assert [d.seq_tags for d in datas] == [["f0_0", "f0_1", "f0_2"], ["f1_0", "f1_1"]]
    gen = du.load_inputs_only(two_files[0], context_len=2)
    assert list(gen) == ["f0_0", "f0_1", "f0_2"]
    assert [v.shape for v in gen.values()] == [(5, 2, 22), (7, 2, 22), (4, 2, 22)]
    np.testing.assert_array_equal(gen["f0_1"][:, 1], datas[0].inputs[5:12])
    assert np.all(gen["f0_1"][0, 0] == 0)
    utts = list(du.iterate_utterances(two_files, context_len=2))
    assert [u[0] for u in utts] == ["f0_0", "f0_1", "f0_2", "f1_0", "f1_1"]
    np.testing.assert_array_equal(utts[1][1], gen["f0_1"])
    np.testing.assert_array_equal(utts[4][2], datas[1].targets[9:])
    stats = norm_stats(two_files[1])
    np.testing.assert_array_equal(stats["output_means"], datas[1].output_means)
    assert read_netcdf(two_files[0], inputs_only=True).targets is None


def test_pulse_sequence_pickles_for_worker_processes(two_files):
    seq = du.PulseSequence(two_files, batch_size=5, context_len=2, shuffle=False)
    first = seq[0]
    clone = pickle.loads(pickle.dumps(seq))
    np.testing.assert_array_equal(clone[0][0], first[0])
    np.testing.assert_array_equal(clone[0][1], first[1])


def test_mixed_batches_concatenate_files_and_cap_the_epoch(two_files):
    args = argparse.Namespace(batch_size=4, mix_files=2, rnn_context_len=2)
    mixed = du.mixed_batches(two_files, args, seed=0, steps=2, pulse_targets=True)
    assert len(mixed) == 2  # capped at --steps_per_epoch
    for i in range(len(mixed)):
        x, y = mixed[i]
        assert x.shape[1:] == (2, 22) and y["wave"] is y["spec"]
        assert x.shape[0] == y["wave"].shape[0] <= 4  # two sub-batches of 4 // 2 rows
    assert all(len(g) == 2 for g in mixed._groups)  # each batch: sub-batches of 2 base batches
    first = [mixed[i][1]["wave"].copy() for i in range(len(mixed))]
    mixed.on_epoch_end()  # a no-op: the epoch is set, never counted
    assert mixed.epoch == 0 and mixed.base.epoch == 0
    mixed.set_epoch(1)
    assert mixed.epoch == 1 and mixed.base.epoch == 1
    again = du.mixed_batches(two_files, args, seed=0, steps=2, pulse_targets=True)
    np.testing.assert_array_equal(again[0][1]["wave"], first[0])  # deterministic for a seed
    resumed = du.mixed_batches(two_files, args, seed=0, steps=2, pulse_targets=True, epoch=1)
    np.testing.assert_array_equal(resumed[0][1]["wave"], mixed[0][1]["wave"])  # resume = same epoch


def test_split_train_val_holds_out_the_last_file(two_files, tmp_path):
    args = argparse.Namespace(data_dir=two_files[0].parent, testdata_dir=None, max_files=None)
    train, val = du.split_train_val(args)
    assert train == [two_files[0]] and val == two_files[1]
    x, y, voiced = du.load_frames(two_files[0], 3, max_frames=10, seed=0)
    assert x.shape == (10, 3, 22) and y.shape == (10, 400) and voiced.shape == (10,)
    with pytest.raises(ValueError):
        du.load_frames(two_files[0], 0)
