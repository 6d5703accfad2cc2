#!/usr/bin/env bash
# ResGAN, the main job: every stage on the embedded synthetic corpus, from a fresh
# clone on a CPU machine (quick preset: about 6 min on 2 cores).
#
#   bash run.sh                                   # stages 0-4, quick preset
#   bash run.sh --preset paper [--context 40]     # the paper's training settings (long on a CPU)
#   bash run.sh --stage 2 --stop_stage 3          # only some stages
#   bash run.sh --resume false                    # retrain from scratch
#   bash run.sh -- --epochs_pulse 1 --epochs_gan 1   # train.py flags for stage 1, after --
#
# Stages (each skips what is already done, so re-running resumes):
#   0  00_make_dirs.sh, 00_get_data.sh --synthetic   synthetic corpus, noises, NetCDF packaging
#   1  01_run_train.sh     pulse model, then GAN noise model -> <model_dir>/
#   2  02_generate.sh      test-set pulses -> <out_dir>/<tag>.pls, .pls_nonoise
#   3  03_synthesize.sh    speech -> <out_dir>/wav/<tag>_{impulse,pulse,gan}.wav
#   4  04_evaluate.sh      metrics -> one JSON line, <model_dir>/eval.json
#
# Options (defaults in brackets), passed on to the stages that use them:
#   --stage N --stop_stage M   run the stages N..M [0, 100]
#   --preset NAME     quick | paper (resgan/presets/NAME.json) [quick]
#   --context N       frames of GRU context (train.py --rnn_context_len) [1]
#   --seed N          [0]
#   --resume BOOL     false: start the training over [true]
#   --data_dir DIR    raw corpora [data]; --train_dir DIR, --test_dir DIR packaged data
#                     [traindata, testdata]; --model_dir DIR [models]; --out_dir DIR [output];
#                     --figures_dir DIR [figures]
# Environment: PYTHON (default python) for every stage.
set -euo pipefail
preset=quick context=1 seed=0 resume=true data_dir=data train_dir=traindata test_dir=testdata
model_dir=models out_dir=output figures_dir=figures
. "$(dirname "$0")/utils/parse_options.sh" "$@"
cd "$(dirname "$0")"

range=(--stage "$stage" --stop_stage "$stop_stage")
dirs=(--train_dir "$train_dir" --test_dir "$test_dir")
bash 00_make_dirs.sh "${range[@]}" "${dirs[@]}" --data_dir "$data_dir" --out_dir "$out_dir" \
  --model_dir "$model_dir" --figures_dir "$figures_dir"
bash 00_get_data.sh "${range[@]}" "${dirs[@]}" --synthetic --data_dir "$data_dir" --seed "$seed" \
  --figures_dir "$figures_dir"
bash 01_run_train.sh "${range[@]}" "${dirs[@]}" --preset "$preset" --context "$context" \
  --seed "$seed" --resume "$resume" --model_dir "$model_dir" --figures_dir "$figures_dir" -- "$@"
bash 02_generate.sh "${range[@]}" --test_dir "$test_dir" --context "$context" --seed "$seed" \
  --model_dir "$model_dir" --out_dir "$out_dir"
bash 03_synthesize.sh "${range[@]}" "${dirs[@]}" --context "$context" --seed "$seed" \
  --model_dir "$model_dir" --out_dir "$out_dir" --figures_dir "$figures_dir"
bash 04_evaluate.sh "${range[@]}" "${dirs[@]}" --context "$context" --seed "$seed" \
  --model_dir "$model_dir"
if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 0 ]; then
  echo "done: figures in $figures_dir/, checkpoints in $model_dir/, audio in $out_dir/"
fi
