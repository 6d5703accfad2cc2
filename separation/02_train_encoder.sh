#!/usr/bin/env bash
# Stage 2: train the proposed mel encoder and baseline B1
# (--model_dir/encoder_{proposed,b1}.keras, each with its resolved configuration in .json).
#
#   bash separation/02_train_encoder.sh [options] [-- train_encoder flags]
#
# Options (default):
#   --data_dir DIR       mixtures of stage 1 (data/separation)
#   --model_dir DIR      (models/separation)
#   --preset NAME        separation/presets/{proposed,b1}/NAME.json: default, realdata, paper (default)
#   --epochs N           override the presets' epochs (both models)
#   --b1_epochs N        override B1's epochs (wins over --epochs)
#   --steps_per_epoch N  override the presets' steps per epoch
#   --max_minutes M      override the presets' wall-clock budget per model
#   --seed N             (0)
#   --resume true|false  continue interrupted (or finished) runs (true); false starts over
#   --jemalloc           run under jemalloc (opt-in, see separation/_stage.sh)
#   --show               print the commands, run nothing
#   --stage N --stop_stage M   run only if 2 is in [N, M]
# Everything after -- goes to both python -m separation.train_encoder runs.
set -euo pipefail
data_dir=data/separation model_dir=models/separation preset=default
epochs="" b1_epochs="" steps_per_epoch="" max_minutes="" seed=0 resume=true jemalloc=false show=false
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 2 || exit 0
cd "$(dirname "$0")/.."
. separation/_stage.sh

for kind in proposed b1; do
  n=$epochs; [ "$kind" = b1 ] && [ -n "$b1_epochs" ] && n=$b1_epochs
  overrides=()
  [ -z "$n" ] || overrides+=(--epochs "$n")
  [ -z "$steps_per_epoch" ] || overrides+=(--steps_per_epoch "$steps_per_epoch")
  [ -z "$max_minutes" ] || overrides+=(--max_minutes "$max_minutes")
  run python -m separation.train_encoder --kind "$kind" --data_dir "$data_dir" --model_dir "$model_dir" \
      --preset "$preset" ${overrides[@]+"${overrides[@]}"} --seed "$seed" \
      "$([ "$resume" = true ] && echo --resume || echo --no-resume)" "$@"
done
