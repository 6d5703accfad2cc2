#!/usr/bin/env bash
# Stage 6: PESQ / STOI / SI-SDR / SDR table (the paper's Table I rows), bar chart and
# spectrograms in --fig_dir (separation_table.csv, separation_scores.csv,
# separation_metrics.png, separation_spectrograms_<id>.png).
#
#   bash separation/06_evaluate.sh [options] [-- evaluate flags]
#
# Options (default):
#   --data_dir DIR   mixtures and clean references of stage 1 (data/separation)
#   --out_dir DIR    separated wavs of stage 5, one folder per method (output/separation)
#   --fig_dir DIR    table and figures (figures/separation)
#   --split NAME     test, or val (test)
#   --show           print the command, run nothing
#   --stage N --stop_stage M   run only if 6 is in [N, M]
# Everything after -- goes to python -m separation.evaluate.
set -euo pipefail
data_dir=data/separation out_dir=output/separation fig_dir=figures/separation show=false split=test
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 6 || exit 0
cd "$(dirname "$0")/.."
. separation/_stage.sh

declare -A NAME=([proposed]=Proposed [proposed_gt]=Proposed-gt [b1]=B1 [b1_gt]=B1-gt [b2]=B2 [ibm_gt]=IBM-gt)
dirs=() labels=()
for method in proposed proposed_gt b1 b1_gt b2 ibm_gt; do
  if [ -d "$out_dir/$method" ] || [ "$show" = true ]; then
    dirs+=("$out_dir/$method") labels+=("${NAME[$method]}")
  fi
done
[ ${#dirs[@]} -gt 0 ] || { echo "error: no separated folders under $out_dir (run 05_separate.sh)" >&2; exit 1; }
run python -m separation.evaluate --reference_dir "$data_dir/$split/clean" --mixture_dir "$data_dir/$split/mix" \
    --estimate_dir "${dirs[@]}" --labels "${labels[@]}" --out_dir "$fig_dir" "$@"
