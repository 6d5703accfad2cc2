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
#    noise streams; only the data changes), snapshots every 1000 steps; about 1 s per step alone.
#    Stopped at step 16000 (the score had flattened to about +0.03 per 1000 steps).
python -m wavegan.train --model wavegan --preset wavegan_cpu --data_dir data/wavegan/fsdd_norm \
  --out_dir runs/wavegan_cpu --seed 0 --steps 16000 --keep_every 1000 --quiet
# 5. Resume from step 16000 with both optimizers' step size halved (Adam moments kept; recorded
#    in config.json as learning_rate_history); the run went on to step 20000 (see README.md:
#    later snapshots scored lower), 17000 is the shipped one.
python -m wavegan.train --model wavegan --preset wavegan_cpu --data_dir data/wavegan/fsdd_norm \
  --out_dir runs/wavegan_cpu --seed 0 --steps 17000 --keep_every 1000 --quiet --new_learning_rate 5e-5
# 6. The snapshot of step 17000 is shipped: the highest inception score of the kept snapshots
#    (1000, 2000, ...; n=500, seed 0; also the highest on three other latent sets of 1000 clips).
python -m wavegan.curve --run_dir runs/wavegan_cpu --real_dir data/wavegan/fsdd --n 500
cp runs/wavegan_cpu/snapshots/step_017000/{generator.keras,config.json} pretrained/wavegan/
# 7. Scores (n=1000, seed 0; README.md also gives --seed 4 and 5) and the grid of spectrograms:
python -m wavegan.evaluate --model_dir pretrained/wavegan --real_dir data/wavegan/fsdd --n 1000
python -m wavegan.generate --model_dir pretrained/wavegan --n 16 --out_dir /tmp/wavegan_grid --seed 0
cp /tmp/wavegan_grid/grid.png pretrained/wavegan/
