#!/usr/bin/env bash
# Stage 02: train the proposed mel encoder and baseline B1 (models/separation/encoder_{proposed,b1}.keras).
# Extra arguments go to both trainings (e.g. --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
source separation/_env.sh
for kind in proposed b1; do
  python -m separation.train_encoder --kind "$kind" --data_dir "$SEP_DATA" --models_dir "$SEP_MODELS" \
      --preset "$SEP_PRESET" --epochs "$SEP_EPOCHS" --steps_per_epoch "$SEP_STEPS" \
      --max_minutes "$SEP_MAX_MINUTES" --seed "$SEP_SEED" "$@"
done
