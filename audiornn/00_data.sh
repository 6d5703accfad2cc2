#!/usr/bin/env bash
# AudioRNN stage 0: the data. Synthesises the embedded corpus (when --data_dir is the
# default folder and holds no corpus yet), then encodes every wav under --data_dir to
# uint8 mu-law codes, cached beside the model as <model stem>.codes.npz.
#
# Usage: audiornn/00_data.sh [options]      (run from the checkout root; paths are relative to it)
#   --data_dir DIR        wav folder, searched recursively (default: data/audiornn_corpus,
#                         synthesised here)
#   --minutes M           length of the synthetic corpus (default: 4)
#   --samplerate HZ       training sample rate; other rates are resampled (default: 8000)
#   --model FILE          the model checkpoint the cache belongs to
#                         (default: models/audiornn/audiornn.keras)
#   --seed N              seed of the synthetic corpus (default: 0)
#   --stage N --stop_stage M   this is stage 0: it runs when N <= 0 <= M
#   -h, --help            this text
# Runs: python -m corpus.make_synthetic, python -m audiornn.AudioRNNData
set -euo pipefail
data_dir=data/audiornn_corpus minutes=4 samplerate=8000 model=models/audiornn/audiornn.keras seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 0 || exit 0
cd "$(dirname "$0")/.."

echo "=== AudioRNN stage 0: data ($data_dir) ==="
if [ "$data_dir" = data/audiornn_corpus ] && [ ! -f "$data_dir/metadata.csv" ]; then
  python -m corpus.make_synthetic --out_dir "$data_dir" --minutes "$minutes" \
    --sr "$samplerate" --seed "$seed"
fi
mkdir -p "$(dirname "$model")"
python -m audiornn.AudioRNNData -d "$data_dir" -sr "$samplerate" -o "${model%.keras}.codes.npz"
