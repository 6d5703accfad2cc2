#!/usr/bin/env bash
# Stage 03: train baseline B2, the denoising WaveNet (models/separation/b2.keras).
set -euo pipefail
cd "$(dirname "$0")/.."
source separation/_env.sh
python -m separation.train_b2 --data_dir "$SEP_DATA" --models_dir "$SEP_MODELS" --preset "$SEP_PRESET" \
    --epochs "$SEP_B2_EPOCHS" --steps_per_epoch "$SEP_STEPS" --max_minutes "$SEP_MAX_MINUTES" \
    --seed "$SEP_SEED" "$@"
