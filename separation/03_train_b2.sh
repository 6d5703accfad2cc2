#!/usr/bin/env bash
# Stage 3: train baseline B2, the denoising WaveNet (--model_dir/b2.keras + b2.json).
#
#   bash separation/03_train_b2.sh [options] [-- train_b2 flags]
#
# Options (default):
#   --data_dir DIR       mixtures of stage 1 (data/separation)
#   --model_dir DIR      (models/separation)
#   --preset NAME        separation/presets/b2/NAME.json: default, realdata, paper (default)
#   --epochs N           override the preset's epochs
#   --steps_per_epoch N  override the preset's steps per epoch
#   --max_minutes M      override the preset's wall-clock budget
#   --seed N             (0)
#   --resume true|false  continue an interrupted (or finished) run (true); false starts over
#   --jemalloc           run under jemalloc (opt-in, see separation/_stage.sh)
#   --show               print the command, run nothing
#   --stage N --stop_stage M   run only if 3 is in [N, M]
# Everything after -- goes to python -m separation.train_b2.
set -euo pipefail
data_dir=data/separation model_dir=models/separation preset=default
epochs="" steps_per_epoch="" max_minutes="" seed=0 resume=true jemalloc=false show=false
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 3 || exit 0
cd "$(dirname "$0")/.."
. separation/_stage.sh

overrides=()
for v in epochs steps_per_epoch max_minutes; do [ -z "${!v}" ] || overrides+=("--$v" "${!v}"); done
run python -m separation.train_b2 --data_dir "$data_dir" --model_dir "$model_dir" --preset "$preset" \
    ${overrides[@]+"${overrides[@]}"} --seed "$seed" \
    "$([ "$resume" = true ] && echo --resume || echo --no-resume)" "$@"
