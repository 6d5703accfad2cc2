#!/usr/bin/env bash
# AudioRNN stage 2: generate audio with the best checkpoint, continuing seed windows of the held-out
# data (or --prime FILE, a recording), one network step per sample.
#
# Usage: audiornn/02_generate.sh [options]  (run from the checkout root; paths are relative to it)
#   --preset NAME         sets the generation length, streams and temperature
#                         (default: default: 2 s, 2 streams, temperature 0.9)
#   --model FILE          best checkpoint (default: models/audiornn/audiornn.keras)
#   --audio FILE          generated wav; with several streams <stem>_<k>.wav
#                         (default: output/audiornn/generated.wav)
#   --seed N              sampling seed (default: 0)
#   --genlength S  --num_streams N  --temperature T
#                         override the preset's value (default: empty = the preset's)
#   --prime FILE          continue this recording instead (any rate; written before the
#                         continuation) (default: empty)
#   --method stateful|sliding   sliding = the original, one full forward pass per sample
#                         (default: stateful)
#   --stage N --stop_stage M   this is stage 2: it runs when N <= 2 <= M
#   -h, --help            this text
# Runs: python -m audiornn.AudioRNN -g ...  (TensorFlow backend only)
set -euo pipefail
preset=default model=models/audiornn/audiornn.keras audio=output/audiornn/generated.wav seed=0
genlength="" num_streams="" temperature="" method=stateful prime=""
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 2 || exit 0
cd "$(dirname "$0")/.."

overrides=()
for name in genlength num_streams temperature; do
  if [ -n "${!name}" ]; then overrides+=("--$name" "${!name}"); fi
done

echo "=== AudioRNN stage 2: generate ($audio) ==="
python -m audiornn.AudioRNN -g --preset "$preset" -m "$model" -a "$audio" --seed "$seed" \
  --method "$method" ${prime:+--prime "$prime"} ${overrides[@]+"${overrides[@]}"}
