#!/usr/bin/env bash
# AudioRNN recipe: the numbered stages on the embedded synthetic corpus at 8 kHz.
#
# Usage: audiornn/run.sh [options]          (run from the checkout root; paths are relative to it)
#   audiornn/run.sh                              # stages 0-3, preset default (~15 min on 2 CPU cores)
#   audiornn/run.sh --stage 2 --stop_stage 3     # only generate and evaluate again
#   audiornn/run.sh --preset original --data_dir /data/LJSpeech-1.1/wavs   # the original sizes
#
# Stages (each also runs alone: audiornn/0N_*.sh --help):
#   0 data      00_data.sh      synthesise the corpus (unless --data_dir is given), encode to codes
#   1 train     01_train.sh     train, resuming an interrupted run
#   2 generate  02_generate.sh  generate --audio with the best checkpoint
#   3 eval      03_eval.sh      metrics against the baselines, figures
#
# Options (passed on to the stages that use them):
#   --stage N --stop_stage M   run stages N..M (default: 0..3)
#   --preset NAME         audiornn/presets/NAME.json: default (small CPU run), speech8k (the
#                         recipe that learns real speech, hours on a CPU) or original (T = 1000,
#                         256 neurons, batch 128), or a .json path (default: default)
#   --data_dir DIR        wav folder (default: data/audiornn_corpus, synthesised in stage 0)
#   --minutes M           length of the synthetic corpus (default: 4)
#   --samplerate HZ       (default: 8000)
#   --model FILE          best checkpoint; the others sit beside it
#                         (default: models/audiornn/audiornn.keras)
#   --audio FILE          generated wav (default: output/audiornn/generated.wav)
#   --val_dir DIR         held-out recordings for validation (default: empty = file tails)
#   --eval_dir DIR        held-out recordings scored in stage 3 (default: empty = validation)
#   --prime FILE          stage 2 continues this recording (default: empty)
#   --figures_dir DIR     (default: figures)
#   --seed N              (default: 0)
#   --resume true|false   continue an interrupted training (default: true)
#   --timesteps N  --neurons N  --batchsize N  --accumulate K  --epochs N  --steps_per_epoch N
#   --val_windows N  --genlength S  --num_streams N  --temperature T
#                         override the preset's value (default: empty = the preset's)
#   --method stateful|sliding   generation method (default: stateful)
#   -h, --help            this text
set -euo pipefail
stage=0 stop_stage=3 preset=default data_dir=data/audiornn_corpus minutes=4 samplerate=8000
model=models/audiornn/audiornn.keras audio=output/audiornn/generated.wav figures_dir=figures
seed=0 resume=true method=stateful val_dir="" eval_dir="" prime=""
timesteps="" neurons="" batchsize="" accumulate="" epochs="" steps_per_epoch="" val_windows=""
genlength="" num_streams="" temperature=""
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
here=$(dirname "$0")

run_stage() {  # run_stage SCRIPT NAME...: the script with --stage/--stop_stage and --NAME=value
  local script=$1 name
  shift
  local opts=(--stage="$stage" --stop_stage="$stop_stage")
  for name in "$@"; do opts+=("--$name=${!name}"); done
  bash "$here/$script" "${opts[@]}"
}

run_stage 00_data.sh data_dir minutes samplerate model seed
run_stage 01_train.sh preset data_dir samplerate model seed resume val_dir \
  timesteps neurons batchsize accumulate epochs steps_per_epoch val_windows
run_stage 02_generate.sh preset model audio seed genlength num_streams temperature method prime
run_stage 03_eval.sh model audio figures_dir val_windows seed eval_dir prime
