#!/usr/bin/env bash
# pretrained/specgan (issue 24): the exact commands. R=$AUDIOSYNTH_REALDATA.
set -e
# 1. FSDD split by speaker: train george, jackson, lucas, yweweler; val nicolas; test theo; 8192 samples
python -m wavegan.data --fsdd_dir $R/fsdd_8k --out_dir data/wavegan/fsdd
# 2. SpecGAN, CPU preset (d=8, batch 32, WGAN-GP, 5 critic steps, Adam 1e-4 (0.5, 0.9)); resumable: re-run.
#    Trained to step 12500 over three sessions (about 1 s per step with another job on the 2 cores).
python -m wavegan.train --model specgan --preset specgan_cpu --data_dir data/wavegan/fsdd \
  --out_dir runs/specgan_cpu --seed 0 --quiet
# 3. The snapshot of step 8000 is shipped: the highest inception score of the kept snapshots
#    (2000, 4000, ..., 12000; n=500, PGHI) and again at n=1000 against step 12000.
python -m wavegan.curve --run_dir runs/specgan_cpu --real_dir data/wavegan/fsdd --n 500
cp runs/specgan_cpu/snapshots/step_008000/{generator.keras,config.json} pretrained/specgan/
# 4. Scores (n=1000, seed 0, both inversions; the real references through each inversion):
for inv in griffinlim pghi; do
  python -m wavegan.evaluate --model_dir pretrained/specgan --real_dir data/wavegan/fsdd --n 1000 --inversion $inv
  python -m wavegan.evaluate --real_inversion specgan --real_dir data/wavegan/fsdd --n 1000 --inversion $inv
done
