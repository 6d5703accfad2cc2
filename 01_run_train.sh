#!/usr/bin/env bash
# Stage 1 (ResGAN): train the pulse model (stage 1 of train.py) and the GAN noise model (stage 2).
#
#   bash 01_run_train.sh                         # quick preset: about 5 min on 2 idle CPU cores
#   bash 01_run_train.sh --preset paper          # the paper's settings (20 + 15 epochs, batch 128)
#   bash 01_run_train.sh --preset paper --context 40   # as the pre-release runs (GRU context 40)
#   bash 01_run_train.sh --resume false          # start over instead of resuming
#   bash 01_run_train.sh -- --epochs_pulse 2     # any train.py flag after --
#
# Options (defaults in brackets):
#   --preset NAME      quick | paper, or a path to a .json file (resgan/presets/NAME.json) [quick]
#   --context N        frames of GRU context (train.py --rnn_context_len) [1]
#   --train_dir DIR    packaged training data (00_get_data.sh) [traindata]
#   --test_dir DIR     packaged test data [testdata]
#   --model_dir DIR    checkpoints, CSV logs and the saved configurations [models]
#   --figures_dir DIR  training figures [figures]
#   --seed N           [0]
#   --resume BOOL      re-running continues after the last finished epoch;
#                      --resume false starts over (train.py --no-resume) [true]
#   --stage N --stop_stage M   run only if 1 is in [N, M] (run.sh passes them on)
# Writes <model_dir>/ (pulse_model.keras, generator.keras, ... with a .json
# configuration beside each) and <figures_dir>/resgan_{pulse,gan}_{progress,loss}.png.
# The presets are described in resgan/README.md. Environment: PYTHON (default python).
set -euo pipefail
preset=quick context=1 train_dir=traindata test_dir=testdata model_dir=models figures_dir=figures
seed=0 resume=true
. "$(dirname "$0")/utils/parse_options.sh" "$@"
stage_on 1 || exit 0
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}

for d in "$train_dir" "$test_dir"; do
  if ! [ -f "$d/data.nc1" ]; then
    echo "error: $d/data.nc1 not found: run 00_get_data.sh first" >&2
    exit 1
  fi
done
resume_flag=--resume
[ "$resume" = true ] || resume_flag=--no-resume
echo "[01] ResGAN training, $preset preset, context $context${*:+, extra flags: $*}"
"$PYTHON" train.py --mode train --preset "$preset" --rnn_context_len "$context" --seed "$seed" \
  "$resume_flag" --data_dir "$train_dir" --testdata_dir "$test_dir" --model_dir "$model_dir" \
  --figures_dir "$figures_dir" "$@"
echo "[01] done: models in $model_dir/, figures in $figures_dir/"
