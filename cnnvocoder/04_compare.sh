#!/usr/bin/env bash
# Stage 4: CNN vocoder vs Griffin-Lim 32/100 vs PGHI on held-out speech:
# table, figure (figures/cnnvocoder_inversion.png) and JSON (last line).
# With AUDIOSYNTH_REALDATA set, also on the real LJSpeech clips.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/cnnvocoder}
MODELS=${MODELS:-models/cnnvocoder}
mkdir -p figures
python bench/bench_inversion.py --wav_dir "$DATA/heldout/wav" --model_path "$MODELS/model.keras" \
  --figure figures/cnnvocoder_inversion.png --json_out figures/cnnvocoder_inversion.json
if [ -n "${AUDIOSYNTH_REALDATA:-}" ]; then
  python bench/bench_inversion.py --wav_dir "$AUDIOSYNTH_REALDATA/ljspeech_sample/wavs" \
    --max_files 16 --model_path "$MODELS/model.keras" \
    --figure figures/cnnvocoder_inversion_ljspeech.png \
    --json_out figures/cnnvocoder_inversion_ljspeech.json
fi
