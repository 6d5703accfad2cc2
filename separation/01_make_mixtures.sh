#!/usr/bin/env bash
# Stage 01: speech + noise -> reproducible splits and mixtures (data/separation/).
# Without SEP_SPEECH/SEP_NOISE it first makes the embedded synthetic corpus and noises at 22.05 kHz.
set -euo pipefail
cd "$(dirname "$0")/.."
source separation/_env.sh
speech="$SEP_SPEECH"; noise="$SEP_NOISE"; extra="$SEP_NOISE_ARGS"
if [ -z "$speech" ]; then
  speech="$SEP_SRC/speech"
  [ -f "$speech/metadata.csv" ] || python -m corpus.make_synthetic --out_dir "$speech" \
      --minutes "${SEP_SYNTH_MINUTES:-2.5}" --sr 22050 --seed "$SEP_SEED"
fi
if [ -z "$noise" ]; then
  noise="$SEP_SRC/noise"
  [ -f "$noise/meta/esc50.csv" ] || python -m corpus.make_noises --out_dir "$noise" --sr 22050 \
      --n_per_kind 3 --seed "$SEP_SEED"
  # the synthetic noises are not ESC-50 classes: take all of them; 30% held out for testing
  extra="--categories all --noise_test_fraction 0.3 --test_mixes 2 $extra"
fi
noise_args=()
for d in $noise; do noise_args+=(--noise_dir "$d"); done
python -m separation.make_mixtures --speech_dir "$speech" "${noise_args[@]}" --out_dir "$SEP_DATA" \
    --seed "$SEP_SEED" $extra "$@"
