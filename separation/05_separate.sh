#!/usr/bin/env bash
# Stage 05: separate every test mixture with every method (output/separation/<method>/).
# One process per method loads what the method needs (encoder and vocoder together).
set -euo pipefail
cd "$(dirname "$0")/.."
source separation/_env.sh
for method in $SEP_METHODS; do
  python -m separation.separate --method "$method" --input_dir "$SEP_DATA/test/mix" \
      --reference_dir "$SEP_DATA/test/clean" --output_dir "$SEP_OUT/$method" \
      --models_dir "$SEP_MODELS" "$@"
done
