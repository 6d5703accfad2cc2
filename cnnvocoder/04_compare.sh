#!/usr/bin/env bash
# Stage 4: CNN vocoder vs Griffin-Lim 32/100 vs PGHI on held-out speech
# (python -m bench.bench_inversion): table, FIG_DIR/cnnvocoder_inversion.png and .json,
# the results as JSON on the last line. With --realdata (default: $AUDIOSYNTH_REALDATA),
# also on --max_files real LJSpeech clips (FIG_DIR/cnnvocoder_inversion_ljspeech.*).
#
# Usage: bash cnnvocoder/04_compare.sh [options] [-- extra flags of bench.bench_inversion]
#   --data_dir DIR        held-out recordings in DIR/heldout/wav (default data/cnnvocoder)
#   --model_dir DIR       uses MODEL_DIR/model.keras (default models/cnnvocoder)
#   --fig_dir DIR         figures and JSON (default figures)
#   --realdata DIR        real-data folder holding ljspeech_sample/wavs (default: none, or
#                         the environment override AUDIOSYNTH_REALDATA)
#   --max_files N         real clips compared (default 16)
#   --lj_part PART        compare on this part of the fixed LJSpeech split (train, val, test)
#                         instead of the first --max_files clips (default: none)
#   --preset NAME|FILE    configuration of an untrained CNN when there is no model (default repo)
#   --seed N              (default 0)
#   --stage N --stop_stage M   this is stage 4: skipped unless N <= 4 <= M
#   -h, --help            this text
set -euo pipefail
data_dir=data/cnnvocoder model_dir=models/cnnvocoder fig_dir=figures
realdata="${AUDIOSYNTH_REALDATA:-}" max_files=16 lj_part="" preset=repo seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 4 || exit 0
cd "$(dirname "$0")/.."
mkdir -p "$fig_dir"
common=(--model "$model_dir/model.keras" --preset "$preset" --seed "$seed")
python -m bench.bench_inversion --wav_dir "$data_dir/heldout/wav" "${common[@]}" \
  --figure "$fig_dir/cnnvocoder_inversion.png" --json_out "$fig_dir/cnnvocoder_inversion.json" "$@"
if [ -n "$realdata" ]; then
  if [ -n "$lj_part" ]; then
    clips=(--part "$lj_part" --realdata "$realdata/ljspeech_sample")
  else
    clips=(--wav_dir "$realdata/ljspeech_sample/wavs" --max_files "$max_files")
  fi
  python -m bench.bench_inversion "${clips[@]}" "${common[@]}" \
    --figure "$fig_dir/cnnvocoder_inversion_ljspeech.png" \
    --json_out "$fig_dir/cnnvocoder_inversion_ljspeech.json" "$@"
fi
