#!/usr/bin/env bash
# Stage 1: training data. Without --wav_dir, make the embedded synthetic corpus
# (22.05 kHz source-filter speech, seed --seed) and 4 held-out utterances for
# stages 3-4 (seed --seed + 1: never seen in training); then cut random 81-frame
# segments of every recording (python -m cnnvocoder.preprocess).
#
# Usage: bash cnnvocoder/01_preprocess.sh [options] [-- extra flags of cnnvocoder.preprocess]
#   --data_dir DIR          writes DIR/synthetic, DIR/heldout, DIR/segments
#                           (default data/cnnvocoder)
#   --wav_dir DIR           your recordings instead (LJSpeech layout or any folder of audio
#                           files; resampled to the preset's rate); no held-out set is made
#   --minutes M             length of the synthetic corpus (default 3)
#   --samples_per_audio N   segments per recording (default 8)
#   --num_workers N         analysis processes (default 2)
#   --preset NAME|FILE      analysis settings (default repo); train with the same one
#   --seed N                (default 0)
#   --stage N --stop_stage M   this is stage 1: skipped unless N <= 1 <= M
#   -h, --help              this text
# Relative paths are taken from the repository root.
set -euo pipefail
data_dir=data/cnnvocoder wav_dir="" minutes=3 samples_per_audio=8 num_workers=2 preset=repo
seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 1 || exit 0
cd "$(dirname "$0")/.."
if [ -z "$wav_dir" ]; then
  wav_dir="$data_dir/synthetic"
  if [ ! -f "$wav_dir/metadata.csv" ]; then
    python -m corpus.make_synthetic --out_dir "$wav_dir" --minutes "$minutes" --sr 22050 \
      --seed "$seed"
  fi
  if [ ! -f "$data_dir/heldout/metadata.csv" ]; then
    python -m corpus.make_synthetic --out_dir "$data_dir/heldout" --n_utterances 4 --sr 22050 \
      --seed "$((seed + 1))"
  fi
fi
python -m cnnvocoder.preprocess --data_dir "$wav_dir" --out_dir "$data_dir/segments" \
  --samples_per_audio "$samples_per_audio" --num_workers "$num_workers" --preset "$preset" \
  --seed "$seed" "$@"
