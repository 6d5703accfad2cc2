#!/usr/bin/env bash
# Stage 01: train the ResGAN pulse model (stage 1) and GAN noise model (stage 2).
#
#   ./01_run_train.sh                 # quick configuration (default): ~15 min on 2 CPU cores
#   ./01_run_train.sh --paper         # the paper's settings (20 + 15 epochs, batch 128, context 1)
#   ./01_run_train.sh --paper --context 40   # as the pre-release runs (GRU context of 40 frames)
#   ./01_run_train.sh [preset] [any train.py flag ...]   # e.g. --restart, --data_dir DIR
#
# Reads ./traindata and ./testdata (00_get_data.sh). Writes models/ (checkpoints,
# CSV logs, configs) and figures/resgan_{pulse,gan}_{progress,loss}.png. Re-running
# resumes after the last finished epoch (add --restart to start over).
#
# Quick configuration: the paper's networks and optimisers, but a bounded number
# of random batches of 64 per epoch (6 x 30 pulse-model steps, 5 x 25 GAN steps),
# a 5x larger pulse-model learning rate (5e-4) so that 180 steps visibly learn,
# BatchNorm momentum 0.9 (instead of 0.99) so that the inference-mode statistics
# catch up within a few dozen steps, and early stopping on 768 held-out frames.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
PRESET=quick
CONTEXT=1
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --paper) PRESET=paper ;;
    --quick) PRESET=quick ;;
    --context) CONTEXT=${2:?--context needs a value}; shift ;;
    --context=*) CONTEXT=${1#*=} ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) EXTRA+=("$1") ;;
  esac
  shift
done

if [ "$PRESET" = paper ]; then
  ARGS=(--epochs_pulse 20 --epochs_gan 15 --batch_size 128 --rnn_context_len "$CONTEXT"
        --plot_every 500)
else
  ARGS=(--epochs_pulse 6 --epochs_gan 5 --batch_size 64 --steps_per_epoch 30
        --steps_per_epoch_gan 25 --lr_pulse 5e-4 --bn_momentum 0.9 --val_frames 768 --plot_every 30
        --rnn_context_len "$CONTEXT")
fi
for d in traindata testdata; do
  if ! ls "$d"/data.nc1 >/dev/null 2>&1; then
    echo "error: $d/data.nc1 not found: run ./00_get_data.sh first" >&2
    exit 1
  fi
done
echo "[01] ResGAN training, $PRESET preset: ${ARGS[*]} ${EXTRA[*]:-}"
"$PYTHON" train.py --mode train "${ARGS[@]}" ${EXTRA[@]+"${EXTRA[@]}"}
echo "[01] done: models in models/, figures in figures/"
