#!/usr/bin/env bash
# Stage 1: speech + noise -> reproducible splits and mixtures in --data_dir
# ({train,val,test}/{mix,clean,noise}/*.wav, {train,val,test}.csv, split.json).
#
#   bash separation/01_make_mixtures.sh [options] [-- make_mixtures flags]
#
# Options (default):
#   --data_dir DIR       where the mixtures go (data/separation)
#   --speech_dir DIR     LJSpeech-layout speech (empty: the embedded synthetic corpus,
#                        made here in --src_dir/speech at 22.05 kHz)
#   --noise_dir "D1 D2"  ESC-50-layout or plain noise folders, space separated (empty: the
#                        embedded synthetic noises, made here in --src_dir/noise; then all
#                        their kinds are used and 30% held out for testing)
#   --src_dir DIR        embedded corpus and noises (data/separation_src)
#   --synth_minutes M    length of the embedded corpus (2.5)
#   --preset NAME        separation/presets/mixtures/NAME.json: default, realdata, paper (default)
#   --seed N             split and mixing seed (0)
#   --show               print the commands, run nothing
#   --stage N --stop_stage M   run only if 1 is in [N, M]
# Everything after -- goes to python -m separation.make_mixtures.
set -euo pipefail
data_dir=data/separation speech_dir="" noise_dir="" src_dir=data/separation_src synth_minutes=2.5
preset=default seed=0 show=false
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 1 || exit 0
cd "$(dirname "$0")/.."
. separation/_stage.sh

speech=$speech_dir noise=$noise_dir extra=()
if [ -z "$speech" ]; then
  speech=$src_dir/speech
  synthetic_speech "$speech" "$synth_minutes"
fi
if [ -z "$noise" ]; then
  noise=$src_dir/noise
  [ -f "$noise/meta/esc50.csv" ] || run python -m corpus.make_noises --out_dir "$noise" --sr 22050 \
      --n_per_kind 3 --seed "$seed"
  # the synthetic noises are not ESC-50 classes: take all of them; 30% held out for testing
  extra=(--categories all --noise_test_fraction 0.3 --test_mixes 2)
fi
noise_args=()
for d in $noise; do noise_args+=(--noise_dir "$d"); done
run python -m separation.make_mixtures --speech_dir "$speech" "${noise_args[@]}" --out_dir "$data_dir" \
    --preset "$preset" --seed "$seed" "${extra[@]}" "$@"
