#!/usr/bin/env python
"""ResGAN speed: training throughput, generation speed, input-pipeline share.

    python -m bench.bench_resgan [--data_dir traindata] [--steps 6] [--batch_size 128] [--mix_files 4]

Uses ./traindata when present, else a temporary synthetic data file of the
same layout. Measures, after one warm-up step each:
* pulse-model training throughput (frames/s, ``train_on_batch``);
* GAN (stage 2) training throughput (frames/s, one G and one D update per batch);
* generation speed: pulse model + generator inference on a whole utterance,
  in x real time (one 400-sample pulse per 5 ms frame);
* input-pipeline share: time to produce a batch with the batch mixer training uses
  (resgan.dataset.mixed_batches: an EpochSlice of --mix_files PulseSequence batches
  from random data files, each --batch_size // --mix_files rows) divided by (that + the
  pulse-model step on that batch) -- target < 10 %.
The last line is one JSON object.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from resgan import models
from resgan.dataset import mixed_batches
from resgan.evaluation import PulseGenerator
from resgan.gan import ResGAN
from resgan.netcdf import list_data_files, write_netcdf
from resgan.training import build_pulse_trainer


def _synthetic_file(folder, n_frames=4096, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_frames, 22)).astype(np.float32)
    y = (rng.standard_normal((n_frames, 400)) * np.hanning(400)).astype(np.float32)
    path = Path(folder) / "data.nc1"
    write_netcdf(path, x, y, [n_frames // 8] * 8, [f"u{i}" for i in range(8)],
                            np.zeros(22, np.float32), np.ones(22, np.float32),
                            np.zeros(400, np.float32), np.ones(400, np.float32))
    return [path]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--data_dir", default="traindata")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--context", type=int, default=1)
    p.add_argument("--mix_files", type=int, default=4,
                   help="sub-batches per batch, as train.py --mix_files (default 4)")
    args = p.parse_args()

    keras.utils.set_random_seed(0)
    tmp = tempfile.TemporaryDirectory()
    try:
        files = list_data_files(args.data_dir)
        source = args.data_dir
    except ValueError:
        files = _synthetic_file(tmp.name)
        source = "synthetic temp file"
    # the batches training draws (resgan.training: stage 1 and 2 call mixed_batches)
    mixer = mixed_batches(files, argparse.Namespace(batch_size=args.batch_size, mix_files=args.mix_files,
                                                    rnn_context_len=args.context),
                          seed=0, steps=args.steps + 1)
    n_batches = len(mixer)
    mixer[0]  # warm-up: the first batch reads the data file(s) into the mixer's cache
    t0 = time.perf_counter()
    batches = [mixer[i] for i in range(n_batches)]
    t_data = (time.perf_counter() - t0) / n_batches
    batches = [(x, y) for x, y in batches if len(x) == args.batch_size] or batches

    def timed(step, items):
        step(*items[0])  # warm-up (tracing)
        t = time.perf_counter()
        frames = 0
        for i in range(args.steps):
            x, y = items[1 + i % max(1, len(items) - 1)] if len(items) > 1 else items[0]
            step(x, y)
            frames += len(x)
        return frames / (time.perf_counter() - t), (time.perf_counter() - t) / args.steps

    ns = argparse.Namespace(rnn_context_len=args.context, lr_pulse=1e-4, spectral_weight=0.0)
    pulse = build_pulse_trainer(ns)
    pulse_fps, t_step = timed(lambda x, y: pulse.train_on_batch(x, {"wave": y, "spec": y}), batches)
    print(f"pulse model: {pulse_fps:.1f} frames/s ({t_step * 1000:.0f} ms/step of {args.batch_size})")

    gan = ResGAN(pulse, models.build_generator(), models.build_discriminator())
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-4), d_optimizer=keras.optimizers.SGD(1e-5))
    gan.build()
    gan_fps, _ = timed(lambda x, y: gan.train_on_batch(x, y), batches)
    print(f"GAN: {gan_fps:.1f} frames/s")

    gen = PulseGenerator(pulse, gan.generator)
    utt = np.concatenate([b[0] for b in batches])[:1000]  # 5 s of speech
    gen(utt[:8])
    t = time.perf_counter()
    gen(utt)
    gen_x = len(utt) * 0.005 / (time.perf_counter() - t)
    print(f"generation: {gen_x:.2f}x real time ({len(utt)} frames)")
    share = t_data / (t_data + t_step)
    print(f"input pipeline (batch mixer, {args.mix_files} sub-batches of "
          f"{args.batch_size // args.mix_files}): {t_data * 1000:.1f} ms/batch = {100 * share:.1f} % "
          f"of a pulse step (data: {source})")
    tmp.cleanup()
    print(json.dumps({"pulse_frames_per_s": round(pulse_fps, 2), "gan_frames_per_s": round(gan_fps, 2),
                      "generate_x_realtime": round(gen_x, 3),
                      "input_pipeline_share": round(share, 4),
                      "input_ms_per_batch": round(t_data * 1000, 2), "mix_files": args.mix_files}))


if __name__ == "__main__":
    main()
