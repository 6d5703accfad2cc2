#!/usr/bin/env bash
# Stage 1: training data. Without WAV_DIR, make the embedded synthetic corpus
# (22.05 kHz source-filter speech) and cut 81-frame segments from it.
#   WAV_DIR=/path/to/LJSpeech-1.1 bash cnnvocoder/01_preprocess.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/cnnvocoder}
MINUTES=${MINUTES:-3}
SAMPLES_PER_AUDIO=${SAMPLES_PER_AUDIO:-8}
NUM_WORKERS=${NUM_WORKERS:-2}
if [ -z "${WAV_DIR:-}" ]; then
  WAV_DIR="$DATA/synthetic"
  if [ ! -f "$WAV_DIR/metadata.csv" ]; then
    python -m corpus.make_synthetic --out_dir "$WAV_DIR" --minutes "$MINUTES" --sr 22050 --seed 0
  fi
  # held-out utterances for stage 3/4 (a different seed: never seen in training)
  if [ ! -f "$DATA/heldout/metadata.csv" ]; then
    python -m corpus.make_synthetic --out_dir "$DATA/heldout" --n_utterances 4 --sr 22050 --seed 1
  fi
fi
python cnnvocoder/preprocess.py --data_dir "$WAV_DIR" --out_dir "$DATA/segments" \
  --samples_per_audio "$SAMPLES_PER_AUDIO" --num_workers "$NUM_WORKERS" --seed 0
