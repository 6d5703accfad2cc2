#!/usr/bin/env bash
# The whole CNN-vocoder pipeline: data -> train -> synthesise -> compare.
#
# Usage: bash cnnvocoder/run.sh [options] [-- extra flags of python -m cnnvocoder.train]
# With no options: the embedded synthetic corpus, a short CPU training (preset repo:
# 6 epochs x 20 steps of 4 segments), synthesis of two held-out utterances and the
# comparison table; 5 min 40 s in a fresh clone on 2 CPU cores (see cnnvocoder/README.md).
#
# Stages (each is also a script of its own, with more options: see its --help):
#   1  01_preprocess.sh   synthetic corpus (or --wav_dir) -> 81-frame training segments
#   2  02_train.sh        train; re-running resumes from MODEL_DIR/last.keras
#   3  03_synthesize.sh   held-out recordings -> spectrograms -> cnn, gl32, pghi wavs
#   4  04_compare.sh      bench/bench_inversion.py: table, figure, JSON
#
# Options (passed on to the stage scripts):
#   --stage N --stop_stage M   run stages N..M only (default: all)
#   --data_dir DIR        corpus, held-out set and segments (default data/cnnvocoder)
#   --model_dir DIR       checkpoints, samples, logs (default models/cnnvocoder)
#   --out_dir DIR         synthesised wavs of stage 3 (default output_cnnvocoder)
#   --wav_dir DIR         your recordings (LJSpeech layout or any audio folder) instead of
#                         the synthetic corpus; then also give --test_wavs
#   --test_wavs "A B"     recordings synthesised in stage 3 (default: two held-out ones)
#   --preset NAME|FILE    cnnvocoder/presets/NAME.json or a .json file (default repo)
#   --epochs N --steps N --batch_size N   override the preset's training length
#   --warm_start FILE     initialise the weights from this .keras (fresh optimiser)
#   --resume true|false   continue an interrupted training (default true)
#   --seed N              corpus, segments, training (default 0)
#   --pretrained          skip training: stages 3-4 use the shipped PGHI-refining CNN in
#                         pretrained/cnnvocoder (the real-speech comparison on the LJSpeech
#                         split's test clips, which it never saw)
#   -h, --help            this text
# Relative paths are taken from the repository root (the stages run there).
set -euo pipefail
data_dir=data/cnnvocoder model_dir=models/cnnvocoder out_dir=output_cnnvocoder
wav_dir="" test_wavs="" preset=repo epochs="" steps="" batch_size="" warm_start=""
resume=true seed=0 pretrained=false
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
here=$(dirname "$0")
common=(--stage "$stage" --stop_stage "$stop_stage" --data_dir "$data_dir" --preset "$preset"
        --seed "$seed")
lj_part=""
if [ "$pretrained" = true ]; then
  model_dir=pretrained/cnnvocoder lj_part=test
  echo "using the shipped model $model_dir/model.keras: stage 2 (training) skipped"
else
  bash "$here/01_preprocess.sh" "${common[@]}" --wav_dir "$wav_dir"
  bash "$here/02_train.sh" "${common[@]}" --model_dir "$model_dir" --epochs "$epochs" \
    --steps "$steps" --batch_size "$batch_size" --warm_start "$warm_start" --resume "$resume" \
    -- "$@"
fi
if [ "$pretrained" = true ] && [ -z "$test_wavs" ]; then  # held-out synthetic speech only
  bash "$here/01_preprocess.sh" "${common[@]}" --wav_dir "$wav_dir"
fi
bash "$here/03_synthesize.sh" "${common[@]}" --model_dir "$model_dir" --out_dir "$out_dir" \
  --test_wavs "$test_wavs"
bash "$here/04_compare.sh" "${common[@]}" --model_dir "$model_dir" --lj_part "$lj_part"
