#!/usr/bin/env bash
# pretrained/tifgan (issue 24): the exact commands. R=$AUDIOSYNTH_REALDATA.
set -e
# 1. FSDD split by speaker: train george, jackson, lucas, yweweler; val nicolas; test theo; 8192 samples
python -m wavegan.data --fsdd_dir $R/fsdd_8k --out_dir data/wavegan/fsdd
# 2. TiFGAN, CPU preset (SpecGAN's network at d=8, batch 32, on the Gaussian-window log-magnitudes
#    M=256, a=64 clipped at -10; WGAN-GP, 5 critic steps, Adam 1e-4 (0.5, 0.9)); resumable: re-run.
#    Stopped at step 6240 after 1 h 45 min in one session (about 1 s per step with another job on the 2 cores).
python -m wavegan.train --model tifgan --preset tifgan_cpu --data_dir data/wavegan/fsdd \
  --out_dir runs/tifgan_cpu --seed 0 --quiet
# 3. The snapshot of step 6000 is shipped: the last and highest-scoring of the kept snapshots
#    (2000, 4000, ...; n=500, PGHI).
python -m wavegan.curve --run_dir runs/tifgan_cpu --real_dir data/wavegan/fsdd --n 500
cp runs/tifgan_cpu/snapshots/step_006000/{generator.keras,config.json} pretrained/tifgan/
#    The run predates tif_peak (the output level); it was added to the shipped config.json with
#    the same function the trainer now calls itself:
python -c "import json; from wavegan import spectrograms; from wavegan.data import load_split
p = 'pretrained/tifgan/config.json'; c = json.load(open(p))
c['tif_peak'] = spectrograms.tifgan_peak(load_split('data/wavegan/fsdd', 'train')[0])
json.dump(c, open(p, 'w'), indent=2, sort_keys=True)"
# 4. Scores (n=1000, seed 0, PGHI as the model's inversion and Griffin-Lim 100 for comparison;
#    the real references through the same features and inversion):
for inv in pghi griffinlim; do
  python -m wavegan.evaluate --model_dir pretrained/tifgan --real_dir data/wavegan/fsdd --n 1000 --inversion $inv
  python -m wavegan.evaluate --real_inversion tifgan --real_dir data/wavegan/fsdd --n 1000 --inversion $inv
done
python -m wavegan.generate --model_dir pretrained/tifgan --n 16 --out_dir /tmp/tifgan_grid --seed 0
cp /tmp/tifgan_grid/grid.png pretrained/tifgan/
