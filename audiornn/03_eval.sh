#!/usr/bin/env bash
# AudioRNN stage 3: evaluate. Scores the network, a linear-prediction and a unigram
# baseline on the same validation windows (accuracy, bits per sample), saves them as
# <model stem>.eval.json and draws figures/audiornn_training.png and
# figures/audiornn_generated.png.
#
# Usage: audiornn/03_eval.sh [options]      (run from the checkout root; paths are relative to it)
#   --model FILE          best checkpoint (default: models/audiornn/audiornn.keras)
#   --audio FILE          generated wav of stage 2 (default: output/audiornn/generated.wav)
#   --figures_dir DIR     (default: figures)
#   --val_windows N       windows scored (default: empty = the training configuration's)
#   --seed N              choice of the real excerpt plotted (default: 0)
#   --eval_dir DIR        held-out recordings to score on (default: empty = the validation data)
#   --prime FILE          the recording stage 2 continued (default: empty)
#   --stage N --stop_stage M   this is stage 3: it runs when N <= 3 <= M
#   -h, --help            this text
# Runs: python -m audiornn.AudioRNNEval
set -euo pipefail
model=models/audiornn/audiornn.keras audio=output/audiornn/generated.wav figures_dir=figures
val_windows="" seed=0 eval_dir="" prime=""
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 3 || exit 0
cd "$(dirname "$0")/.."

echo "=== AudioRNN stage 3: eval ==="
python -m audiornn.AudioRNNEval -m "$model" -a "$audio" --figures_dir "$figures_dir" \
  ${val_windows:+--val_windows "$val_windows"} --seed "$seed" ${eval_dir:+--eval_dir "$eval_dir"} \
  ${prime:+--prime "$prime"}
