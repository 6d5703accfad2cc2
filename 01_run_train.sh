#!/usr/bin/env bash
# Stage 01: train the ResGAN pulse model (stage 1) and GAN noise model (stage 2).
#
#   ./01_run_train.sh                 # quick configuration (default): <= 15 min on 2 idle CPU cores
#   ./01_run_train.sh --paper         # the paper's settings (20 + 15 epochs, batch 128, context 1)
#   ./01_run_train.sh --paper --context 40   # as the pre-release runs (GRU context of 40 frames)
#   ./01_run_train.sh [preset] [any train.py flag ...]   # e.g. --restart, --data_dir DIR
#
# Reads ./traindata and ./testdata (00_get_data.sh). Writes models/ (checkpoints,
# CSV logs, configs) and figures/resgan_{pulse,gan}_{progress,loss}.png. Re-running
# resumes after the last finished epoch (add --restart to start over).
#
# Quick configuration: the paper's networks and optimisers, but a bounded number
# of random batches of 32 per epoch (8 x 36 pulse-model steps, 5 x 32 GAN steps),
# a 10x larger pulse-model learning rate (1e-3) so that 288 steps visibly learn,
# a 100x larger discriminator learning rate (SGD 1e-3: at 1e-5 its loss stays at
# ~1.1 over 160 steps, i.e. D does not learn and G only feature-matches a random D),
# BatchNorm momentum 0.9 (instead of 0.99) so that the inference-mode statistics
# catch up within a few dozen steps, and early stopping on 512 held-out frames.
# Small batches: the budget is in frames (the pulse model costs ~1.5 GFLOP per
# training frame), and per frame seen, batches of 16-32 learn faster than 64.
# Both presets share two defaults of train.py: the pulse model's final linear
# convolution starts at zero with a fixed output gain of 1/20 (--output_gain,
# the target pulses' RMS), and each batch mixes 4 sub-batches from random data
# files (--mix_files) so BatchNorm sees more than one speaker per batch.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
ALLOW_PRESET=1 source ./_stage_args.sh "$@"

if [ "$PRESET" = paper ]; then
  ARGS=(--epochs_pulse 20 --epochs_gan 15 --batch_size 128 --rnn_context_len "$CONTEXT"
        --plot_every 500)
else
  ARGS=(--epochs_pulse 8 --epochs_gan 5 --batch_size 32 --steps_per_epoch 36
        --steps_per_epoch_gan 32 --lr_pulse 1e-3 --lr_d 1e-3 --bn_momentum 0.9 --val_frames 512 --plot_every 36
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
