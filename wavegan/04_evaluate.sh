#!/usr/bin/env bash
# Stage 4: score the generator as the papers do. Trains the digit classifier first when there
# is none at --classifier (python -m wavegan.train_classifier, preset cpu: up to ~15 min on 2
# CPU cores, once). Then python -m wavegan.evaluate on the final generator (inception score,
# real held-out ceiling, label entropy, nearest neighbours, consistency) and python -m
# wavegan.curve on every kept snapshot and an untrained generator of the same configuration
# (step 0): the inception score against training steps.
#
# Usage: bash wavegan/04_evaluate.sh [options]
#   --model NAME          wavegan, specgan or tifgan: names the default folders (default specgan)
#   --run_dir DIR         training run (default models/wavegan/<model>)
#   --data_dir DIR        output of stage 1 (default data/wavegan/fsdd)
#   --classifier DIR      digit classifier folder (classifier.keras) or .keras file
#                         (default pretrained/digit_classifier; trained there if missing)
#   --classifier_preset NAME   preset of that training (default cpu)
#   --fig_dir DIR         (default figures/wavegan)
#   --n N                 clips scored by wavegan.evaluate (default 500)
#   --curve_n N           clips per point of the curve (default 200)
#   --inversion NAME      spectrogram models: griffinlim or pghi (default: the model's)
#   --seed N              latent seed (default 0)
#   --stage N --stop_stage M   this is stage 4: skipped unless N <= 4 <= M
#   -h, --help            this text
# Writes FIG_DIR/<model>_evaluate.json (the JSON line of wavegan.evaluate) and
# FIG_DIR/<model>_inception_curve.{png,json}.
set -euo pipefail
model=specgan run_dir="" data_dir=data/wavegan/fsdd classifier=pretrained/digit_classifier
classifier_preset=cpu fig_dir=figures/wavegan n=500 curve_n=200 inversion="" seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 4 || exit 0
cd "$(dirname "$0")/.."
run_dir=${run_dir:-models/wavegan/$model}
if [ ! -f "$classifier" ] && [ ! -f "$classifier/classifier.keras" ]; then
  if [[ "$classifier" == *.keras ]]; then
    echo "error: 04_evaluate.sh: no classifier file $classifier" >&2
    exit 1
  fi
  # the scores need a judge; it is trained once, on the same speaker split as the GAN
  echo "=== wavegan stage 4: no classifier in $classifier: training one (preset" \
    "$classifier_preset) ==="
  python -m wavegan.train_classifier --data_dir "$data_dir" --out_dir "$classifier" \
    --preset "$classifier_preset" --seed "$seed"
fi
mkdir -p "$fig_dir"
common=(--real_dir "$data_dir" --classifier "$classifier" --seed "$seed"
        ${inversion:+--inversion "$inversion"})
echo "=== wavegan stage 4: evaluate $run_dir ==="
python -m wavegan.evaluate --model_dir "$run_dir" --n "$n" "${common[@]}" \
  | tee "$fig_dir/${model}_evaluate.log"
tail -n 1 "$fig_dir/${model}_evaluate.log" > "$fig_dir/${model}_evaluate.json"
python -m wavegan.curve --run_dir "$run_dir" --n "$curve_n" "${common[@]}" \
  --figure "$fig_dir/${model}_inception_curve.png"
