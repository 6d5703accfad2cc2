#!/usr/bin/env bash
# Stage 02: train the proposed mel encoder and baseline B1 (models/separation/encoder_{proposed,b1}.keras).
# Epochs: $SEP_EPOCHS for the proposed encoder, $SEP_B1_EPOCHS for B1. Extra arguments go to both
# trainings (e.g. --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
source separation/_env.sh
for kind in proposed b1; do
  epochs=$SEP_EPOCHS; [ "$kind" = b1 ] && epochs=$SEP_B1_EPOCHS
  python -m separation.train_encoder --kind "$kind" --data_dir "$SEP_DATA" --models_dir "$SEP_MODELS" \
      --preset "$SEP_PRESET" --epochs "$epochs" --steps_per_epoch "$SEP_STEPS" \
      --max_minutes "$SEP_MAX_MINUTES" --seed "$SEP_SEED" "$@"
done
