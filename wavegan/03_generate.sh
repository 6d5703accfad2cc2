#!/usr/bin/env bash
# Stage 3: generate clips with the trained generator (python -m wavegan.generate):
# OUT_DIR/000.wav ... (8 kHz, 8192 samples) and OUT_DIR/grid.png (spectrograms of the first
# 16), then a latent interpolation between seeds S and S+1 in OUT_DIR/interpolation/.
#
# Usage: bash wavegan/03_generate.sh [options] [-- extra flags of python -m wavegan.generate]
#   --model NAME          wavegan, specgan or tifgan: names the default folders (default specgan)
#   --run_dir DIR         the generator: generator.keras + config.json, a training run or
#                         pretrained/<model> (default models/wavegan/<model>)
#   --out_dir DIR         (default output/wavegan/<model>)
#   --n N                 clips (default 100)
#   --inversion NAME      spectrogram models: griffinlim or pghi (default: the model's)
#   --seed N              latent seed (default 0)
#   --stage N --stop_stage M   this is stage 3: skipped unless N <= 3 <= M
#   -h, --help            this text
set -euo pipefail
model=specgan run_dir="" out_dir="" n=100 inversion="" seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 3 || exit 0
cd "$(dirname "$0")/.."
run_dir=${run_dir:-models/wavegan/$model} out_dir=${out_dir:-output/wavegan/$model}
common=(--model_dir "$run_dir" --seed "$seed" ${inversion:+--inversion "$inversion"})
echo "=== wavegan stage 3: generate $n clips with $run_dir -> $out_dir ==="
python -m wavegan.generate "${common[@]}" --n "$n" --out_dir "$out_dir" "$@"
python -m wavegan.generate "${common[@]}" --n 8 --interpolate --out_dir "$out_dir/interpolation" "$@"
