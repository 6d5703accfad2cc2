#!/usr/bin/env bash
# AudioRNN stage 1: train the network (resumes an interrupted run). The preset sets the
# sizes; the size options below override it. Writes beside --model: <stem>.latest.keras,
# <stem>.log.csv, <stem>.state.json and the resolved configuration <stem>.json.
#
# Usage: audiornn/01_train.sh [options]     (run from the checkout root; paths are relative to it)
#   --preset NAME         audiornn/presets/NAME.json (default, original) or a .json path
#                         (default: default)
#   --data_dir DIR        wav folder (default: data/audiornn_corpus)
#   --samplerate HZ       (default: 8000)
#   --val_dir DIR         held-out recordings for validation (default: empty = the last 10 %
#                         of every training file)
#   --model FILE          best checkpoint (default: models/audiornn/audiornn.keras)
#   --seed N              (default: 0)
#   --resume true|false   continue from <stem>.latest.keras (default: true; false starts over)
#   --timesteps N  --neurons N  --batchsize N  --accumulate K  --epochs N
#   --steps_per_epoch N  --val_windows N
#                         override the preset's value (default: empty = the preset's)
#   --stage N --stop_stage M   this is stage 1: it runs when N <= 1 <= M
#   -h, --help            this text
# Runs: python -m audiornn.AudioRNN -t ...  (all its flags: python -m audiornn.AudioRNN --help)
set -euo pipefail
preset=default data_dir=data/audiornn_corpus samplerate=8000 model=models/audiornn/audiornn.keras
seed=0 resume=true val_dir=""
timesteps="" neurons="" batchsize="" accumulate="" epochs="" steps_per_epoch="" val_windows=""
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 1 || exit 0
cd "$(dirname "$0")/.."

overrides=()
for name in timesteps neurons batchsize accumulate epochs steps_per_epoch val_windows; do
  if [ -n "${!name}" ]; then overrides+=("--$name" "${!name}"); fi
done
if [ "$resume" = true ]; then overrides+=(--resume); else overrides+=(--no-resume); fi

echo "=== AudioRNN stage 1: train (preset $preset) ==="
python -m audiornn.AudioRNN -t --preset "$preset" -d "$data_dir" -sr "$samplerate" -m "$model" \
  --seed "$seed" ${val_dir:+--val_dir "$val_dir"} "${overrides[@]}"
