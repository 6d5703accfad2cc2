#!/usr/bin/env bash
# Stage 3: spectrograms of held-out recordings (python -m cnnvocoder.gen_spec), then the
# three inversions (python -m cnnvocoder.synthesis): OUT_DIR/<name>_{cnn,gl32,pghi}.wav.
#
# Usage: bash cnnvocoder/03_synthesize.sh [options] [-- extra flags of cnnvocoder.synthesis]
#   --data_dir DIR        held-out recordings in DIR/heldout/wav (default data/cnnvocoder)
#   --model_dir DIR       uses MODEL_DIR/model.keras (default models/cnnvocoder)
#   --out_dir DIR         (default output_cnnvocoder)
#   --test_wavs "A B"     recordings to synthesise (default: the first two held-out ones)
#   --preset NAME|FILE    analysis settings (default repo)
#   --n_iter N            Griffin-Lim iterations (default 32; names the _gl32 file)
#   --seed N              initial phase (default 0)
#   --stage N --stop_stage M   this is stage 3: skipped unless N <= 3 <= M
#   -h, --help            this text
set -euo pipefail
data_dir=data/cnnvocoder model_dir=models/cnnvocoder out_dir=output_cnnvocoder test_wavs=""
preset=repo n_iter=32 seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 3 || exit 0
cd "$(dirname "$0")/.."
if [ -z "$test_wavs" ]; then
  test_wavs=$(find "$data_dir/heldout/wav" -name '*.wav' 2>/dev/null | sort | head -n 2 || true)
  if [ -z "$test_wavs" ]; then
    echo "error: 03_synthesize.sh: no held-out recordings in $data_dir/heldout/wav" \
      "(run stage 1 or give --test_wavs)" >&2
    exit 1
  fi
fi
mkdir -p "$out_dir"
common=(--preset "$preset" --seed "$seed")
for wav in $test_wavs; do
  tag=$(basename "$wav" .wav)
  python -m cnnvocoder.gen_spec -i "$wav" -o "$out_dir/$tag.npz" --preset "$preset"
  python -m cnnvocoder.synthesis --method cnn --model "$model_dir/model.keras" \
    --input "$out_dir/$tag.npz" --output "$out_dir/${tag}_cnn.wav" "${common[@]}" "$@"
  python -m cnnvocoder.synthesis --method griffinlim --n_iter "$n_iter" \
    --input "$out_dir/$tag.npz" --output "$out_dir/${tag}_gl$n_iter.wav" "${common[@]}" "$@"
  python -m cnnvocoder.synthesis --method pghi \
    --input "$out_dir/$tag.npz" --output "$out_dir/${tag}_pghi.wav" "${common[@]}" "$@"
done
