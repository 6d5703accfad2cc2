#!/usr/bin/env bash
# Stage 2: train the CNN vocoder (repo configuration). The default is a short
# CPU run (6 epochs x 20 steps of 4 segments, ~3 min on 2 CPU cores); on a GPU
# raise EPOCHS/STEPS.
# Re-running resumes from models/cnnvocoder/last.keras.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/cnnvocoder}
MODELS=${MODELS:-models/cnnvocoder}
EPOCHS=${EPOCHS:-6}
STEPS=${STEPS:-20}
BATCH=${BATCH:-4}
python cnnvocoder/train.py --data_dir "$DATA/segments" --out_dir "$MODELS" \
  --epochs "$EPOCHS" --steps_per_epoch "$STEPS" --batch_size "$BATCH" --sample_every 3 \
  --resume ${WARM_START:+--warm_start "$WARM_START"} "$@"
