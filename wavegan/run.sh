#!/usr/bin/env bash
# The WaveGAN / SpecGAN / TiFGAN pipeline on spoken digits (FSDD, 8 kHz): data -> train ->
# generate -> evaluate.
#
# Usage: bash wavegan/run.sh [options] [-- extra flags of python -m wavegan.train]
# With no options: SpecGAN, preset specgan_quick (400 generator steps, a snapshot every 50)
# and the inception score of every snapshot against an untrained generator, in
# figures/wavegan/specgan_inception_curve.png (see wavegan/README.md for the measured time).
#
# Stages (each is also a script of its own: see its --help):
#   1  01_prepare.sh    FSDD -> DATA_DIR/{train,val,test}.npz, split by speaker
#   2  02_train.sh      python -m wavegan.train; re-running resumes
#   3  03_generate.sh   python -m wavegan.generate: OUT_DIR/*.wav, grid.png, interpolation/
#   4  04_evaluate.sh   (classifier if missing), python -m wavegan.evaluate, wavegan.curve
#
# Options (passed on to the stage scripts that use them):
#   --stage N --stop_stage M   run stages N..M only (default: all)
#   --model NAME          wavegan, specgan or tifgan (default specgan)
#   --preset NAME|FILE    wavegan/presets/NAME.json or a .json file (default <model>_quick;
#                         <model>_cpu: hours on 2 CPU cores; <model>_paper: GPU sizes)
#   --fsdd_dir DIR        FSDD (default $AUDIOSYNTH_REALDATA/fsdd_8k, else ../shared/realdata/fsdd_8k)
#   --data_dir DIR        prepared arrays (default data/wavegan/fsdd)
#   --run_dir DIR         training run (default models/wavegan/<model>)
#   --out_dir DIR         generated clips (default output/wavegan/<model>)
#   --fig_dir DIR         figures and scores (default figures/wavegan)
#   --classifier DIR      digit classifier (default pretrained/digit_classifier; trained there
#                         by stage 4 when missing, which adds up to ~15 min once)
#   --steps N             generator steps (default: the preset's)
#   --n N --curve_n N     clips evaluated (default 500) and per curve point (default 200)
#   --inversion NAME      spectrogram models: griffinlim or pghi (default: the model's)
#   --resume true|false   continue an interrupted training (default true)
#   --seed N              (default 0)
#   -h, --help            this text
# Relative paths are taken from the repository root (the stages run there).
set -euo pipefail
model=specgan preset="" fsdd_dir="${AUDIOSYNTH_REALDATA:-../shared/realdata}/fsdd_8k"
data_dir=data/wavegan/fsdd run_dir="" out_dir="" fig_dir=figures/wavegan
classifier=pretrained/digit_classifier steps="" n=500 curve_n=200 inversion="" resume=true seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
here=$(dirname "$0")

run_stage() {  # run_stage SCRIPT NAME... [-- ARGS]: the script with --stage/--stop_stage and --NAME=value
  local script=$1 name
  shift
  local opts=(--stage="$stage" --stop_stage="$stop_stage")
  while [ $# -gt 0 ] && [ "$1" != -- ]; do name=$1; opts+=("--$name=${!name}"); shift; done
  bash "$here/$script" "${opts[@]}" "$@"
}

run_stage 01_prepare.sh fsdd_dir data_dir
run_stage 02_train.sh model preset data_dir run_dir steps resume seed -- "$@"
run_stage 03_generate.sh model run_dir out_dir inversion seed
run_stage 04_evaluate.sh model run_dir data_dir classifier fig_dir n curve_n inversion seed
