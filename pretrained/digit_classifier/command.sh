#!/bin/bash
# How pretrained/digit_classifier was made (issue 24), from the repository root, on 2 shared CPU cores.
set -euo pipefail
R=${AUDIOSYNTH_REALDATA:-../shared/realdata}
# 1. FSDD as 8192-sample clips split by speaker (val: nicolas, test: theo)
python -m wavegan.data --fsdd_dir $R/fsdd_8k --out_dir data/wavegan/fsdd
# 2. train (preset cpu: 18 epochs, 7.1 min here), then ship the small folder
python -m wavegan.train_classifier --data_dir data/wavegan/fsdd --out_dir /work/runs/wavegan_classifier/run3
cp /work/runs/wavegan_classifier/run3/{classifier.keras,config.json,log.csv,results.json,README.md} \
   pretrained/digit_classifier/
# 3. the real held-out inception score (the ceiling of the GANs' scores)
python -m wavegan.evaluate --model_dir /tmp/fsdd_test_wavs --real_dir data/wavegan/fsdd \
  --classifier pretrained/digit_classifier
