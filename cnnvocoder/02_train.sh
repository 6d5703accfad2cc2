#!/usr/bin/env bash
# Stage 2: train the CNN vocoder (python -m cnnvocoder.train) on the segments of stage 1.
# The default preset (repo) is a short CPU run: 6 epochs x 20 steps of 4 segments,
# ~3 min on 2 CPU cores; on a GPU raise --epochs/--steps/--batch_size.
# Re-running resumes from MODEL_DIR/last.keras (--resume false starts over).
#
# Usage: bash cnnvocoder/02_train.sh [options] [-- extra flags of cnnvocoder.train]
#   --data_dir DIR        reads DIR/segments (default data/cnnvocoder)
#   --model_dir DIR       checkpoints, samples/, logs/, log.csv (default models/cnnvocoder)
#   --preset NAME|FILE    cnnvocoder/presets/NAME.json or a .json file (default repo)
#   --epochs N            default: the preset's
#   --steps N             steps per epoch (default: the preset's)
#   --batch_size N        default: the preset's
#   --warm_start FILE     initialise the weights from this .keras (fresh optimiser, epoch 0)
#   --resume true|false   continue from MODEL_DIR/last.keras when it exists (default true)
#   --seed N              (default 0)
#   --stage N --stop_stage M   this is stage 2: skipped unless N <= 2 <= M
#   -h, --help            this text
# Any configuration key is a flag of the trainer, e.g. `-- --n_heads 2 --scaled_softsign`.
set -euo pipefail
data_dir=data/cnnvocoder model_dir=models/cnnvocoder preset=repo epochs="" steps=""
batch_size="" warm_start="" resume=true seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 2 || exit 0
cd "$(dirname "$0")/.."
args=(--data_dir "$data_dir/segments" --model_dir "$model_dir" --preset "$preset" --seed "$seed")
if [ -n "$epochs" ]; then args+=(--epochs "$epochs"); fi
if [ -n "$steps" ]; then args+=(--steps_per_epoch "$steps"); fi
if [ -n "$batch_size" ]; then args+=(--batch_size "$batch_size"); fi
if [ -n "$warm_start" ]; then args+=(--warm_start "$warm_start"); fi
if [ "$resume" = true ]; then args+=(--resume); else args+=(--no-resume); fi
python -m cnnvocoder.train "${args[@]}" "$@"
