#!/usr/bin/env bash
# pretrained/wavegan (issue 24): the exact commands. R=$AUDIOSYNTH_REALDATA.
set -e
# 1. FSDD split by speaker: train george, jackson, lucas, yweweler; val nicolas; test theo; 8192 samples
python -m wavegan.data --fsdd_dir $R/fsdd_8k --out_dir data/wavegan/fsdd
# 2. WaveGAN, CPU preset (d=16, batch 16, 8192 samples, phase shuffle 2, WGAN-GP, 5 critic steps,
#    Adam 1e-4 (0.5, 0.9)) on the clips at their recorded level; resumable: re-run.
#    Stopped at step 5100 (5578 s of training by step 5000, about 1 s per step on idle cores);
#    resume point: step 5000.
python -m wavegan.train --model wavegan --preset wavegan_cpu --data_dir data/wavegan/fsdd \
  --out_dir runs/wavegan_cpu --seed 0 --quiet
# 3. The same clips scaled to a peak of 0.95 each (FSDD peaks at 0.34 on average), tried because the
#    critic's Lipschitz bound ties its scores to the distance between clips (the curve's slope
#    stayed about the same; see README.md).
python -m wavegan.data --fsdd_dir $R/fsdd_8k --out_dir data/wavegan/fsdd_norm --normalize
# 4. Resume the run from step 5000 on the normalised clips (same networks, optimiser state and
#    noise streams; only the data changes); stopped at step 10032 (about 1 s per step alone,
#    2 s when sharing the cores with a WaveNet run), snapshots every 1000 steps (the run gave
#    --keep_every 500, which before a fix of this session only kept snapshots at checkpoints,
#    i.e. every 1000 steps with save_every 200; 1000 reproduces the same snapshots).
python -m wavegan.train --model wavegan --preset wavegan_cpu --data_dir data/wavegan/fsdd_norm \
  --out_dir runs/wavegan_cpu --seed 0 --steps 13000 --keep_every 1000 --quiet
# 5. The snapshot of step 10000 is shipped: the highest inception score of the kept snapshots
#    (1000, 2000, ...; n=500).
python -m wavegan.curve --run_dir runs/wavegan_cpu --real_dir data/wavegan/fsdd --n 500
cp runs/wavegan_cpu/snapshots/step_010000/{generator.keras,config.json} pretrained/wavegan/
# 6. Scores (n=1000, seed 0) and the grid of spectrograms:
python -m wavegan.evaluate --model_dir pretrained/wavegan --real_dir data/wavegan/fsdd --n 1000
python -m wavegan.generate --model_dir pretrained/wavegan --n 16 --out_dir /tmp/wavegan_grid --seed 0
cp /tmp/wavegan_grid/grid.png pretrained/wavegan/
