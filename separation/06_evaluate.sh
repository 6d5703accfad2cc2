#!/usr/bin/env bash
# Stage 06: PESQ / STOI / SI-SDR / SDR table (Table I rows), bar chart and spectrograms (figures/separation/).
set -euo pipefail
cd "$(dirname "$0")/.."
source separation/_env.sh
declare -A NAME=([proposed]=Proposed [proposed_gt]=Proposed-gt [b1]=B1 [b1_gt]=B1-gt [b2]=B2 [ibm_gt]=IBM-gt)
dirs=(); labels=()
for method in proposed proposed_gt b1 b1_gt b2 ibm_gt; do
  if [ -d "$SEP_OUT/$method" ]; then dirs+=("$SEP_OUT/$method"); labels+=("${NAME[$method]}"); fi
done
[ ${#dirs[@]} -gt 0 ] || { echo "error: no separated folders under $SEP_OUT (run 05_separate.sh)" >&2; exit 1; }
python -m separation.evaluate --reference_dir "$SEP_DATA/test/clean" --mixture_dir "$SEP_DATA/test/mix" \
    --estimate_dir "${dirs[@]}" --labels "${labels[@]}" --out_dir "$SEP_FIGS" "$@"
