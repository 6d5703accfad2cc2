#!/usr/bin/env bash
# Stage 3: spectrogram of held-out recordings, then the three inversions.
#   TEST_WAVS="a.wav b.wav" bash cnnvocoder/03_synthesize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/cnnvocoder}
MODELS=${MODELS:-models/cnnvocoder}
OUT=${OUT:-output_cnnvocoder}
TEST_WAVS=${TEST_WAVS:-$(ls "$DATA"/heldout/wav/*.wav | head -n 2)}
mkdir -p "$OUT"
for wav in $TEST_WAVS; do
  tag=$(basename "$wav" .wav)
  python cnnvocoder/gen_spec.py -i "$wav" -o "$OUT/$tag.npz"
  python cnnvocoder/synthesis.py --method cnn --model_path "$MODELS/model.keras" \
    --spec_path "$OUT/$tag.npz" --out_path "$OUT/${tag}_cnn.wav"
  python cnnvocoder/synthesis.py --method griffinlim --n_iter 32 \
    --spec_path "$OUT/$tag.npz" --out_path "$OUT/${tag}_gl32.wav"
  python cnnvocoder/synthesis.py --method pghi \
    --spec_path "$OUT/$tag.npz" --out_path "$OUT/${tag}_pghi.wav"
done
