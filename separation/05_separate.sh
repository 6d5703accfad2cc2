#!/usr/bin/env bash
# Stage 5: separate every test mixture with every method (--out_dir/<method>/*.wav).
# One process per method loads what the method needs (encoder and vocoder together).
#
#   bash separation/05_separate.sh [options] [-- separate flags]
#
# Options (default):
#   --data_dir DIR    mixtures of stage 1: <split>/mix, <split>/clean (data/separation)
#   --model_dir DIR   checkpoints of stages 2-4 (models/separation)
#   --out_dir DIR     separated wavs (output/separation)
#   --methods "M..."  any of ibm_gt b1_gt b1 b2 proposed_gt proposed (all six)
#   --seed N          the vocoder's sampling seed (0)
#   --split NAME      test, or val (the validation mixtures, to choose settings on) (test)
#   --jemalloc        run under jemalloc (opt-in, see separation/_stage.sh)
#   --show            print the commands, run nothing
#   --stage N --stop_stage M   run only if 5 is in [N, M]
# Everything after -- goes to every python -m separation.separate run.
set -euo pipefail
data_dir=data/separation model_dir=models/separation out_dir=output/separation
methods="ibm_gt b1_gt b1 b2 proposed_gt proposed" seed=0 jemalloc=false show=false split=test
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 5 || exit 0
cd "$(dirname "$0")/.."
. separation/_stage.sh

for method in $methods; do
  run python -m separation.separate --method "$method" --input_dir "$data_dir/$split/mix" \
      --reference_dir "$data_dir/$split/clean" --out_dir "$out_dir/$method" --model_dir "$model_dir" \
      --seed "$seed" "$@"
done
