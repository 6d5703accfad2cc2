#!/usr/bin/env bash
# Stage 04: train the WaveNet vocoder (log-mel -> waveform) -> $SEP_MODELS/vocoder.keras (+ vocoder.json).
# Speech: $SEP_SPEECH (LJSpeech layout) or the embedded synthetic corpus of stage 01 ($SEP_SRC/speech, made
# here if missing). Run folder (checkpoints, log.csv, samples/*.wav|png): $SEP_MODELS/vocoder_run.
# Rerunning resumes from the last checkpoint. Extra arguments go to separation/train_vocoder.py, e.g.
#   bash separation/04_train_vocoder.sh --output mol --upsample repeat
#   SEP_SPEECH=/data/LJSpeech-1.1 SEP_PRESET=paper SEP_EPOCHS=1000 SEP_STEPS=1000 SEP_MAX_MINUTES=100000 \
#       bash separation/04_train_vocoder.sh --batch_size 8
set -euo pipefail
cd "$(dirname "$0")/.."
source separation/_env.sh
speech="$SEP_SPEECH"
if [ -z "$speech" ]; then
  speech="$SEP_SRC/speech"
  [ -f "$speech/metadata.csv" ] || python -m corpus.make_synthetic --out_dir "$speech" \
      --minutes "${SEP_SYNTH_MINUTES:-2.5}" --sr 22050 --seed "$SEP_SEED"
fi
python separation/train_vocoder.py --data_dir "$speech" --out_dir "$SEP_MODELS/vocoder_run" \
    --final "$SEP_MODELS/vocoder.keras" --config "$SEP_PRESET" --epochs "$SEP_EPOCHS" \
    --steps_per_epoch "$SEP_STEPS" --max_minutes "$SEP_MAX_MINUTES" --seed "$SEP_SEED" --resume "$@"
