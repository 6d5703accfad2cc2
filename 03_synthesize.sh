#!/usr/bin/env bash
# Stage 3 (ResGAN): pulses -> audible speech, three excitations side by side.
#
#   bash 03_synthesize.sh [--out_dir output] [--test_dir testdata] [--figures_dir figures]
#                         [--seed 0] [-- synthesize.py flags, e.g. --max_utts 2]
#   bash 03_synthesize.sh --input_file my.wav     # copy-synthesis of any recording
#
# Test set: <out_dir>/wav/<tag>_{impulse,pulse,gan}.wav (16 kHz) from
# <out_dir>/<tag>.pls* (02_generate.sh) and the test features;
# <figures_dir>/resgan_synthesis.png compares their spectrograms with the
# original recording (found in --wav_dir; default: the folder 00_get_data.sh
# packaged, noted in <train_dir>/.source).
# --input_file FILE: copy-synthesis into <out_dir>/copy/ (wavs and <name>_spectrograms.png),
# with the trained models in --model_dir when there are (inputs normalised with the
# model's stats.json, or <train_dir>'s statistics for a model folder without one).
# Options: --stage N --stop_stage M run only if 3 is in [N, M] (run.sh passes them on).
# Environment: PYTHON (default python).
set -euo pipefail
out_dir=output test_dir=testdata train_dir=traindata model_dir=models figures_dir=figures
wav_dir="" input_file="" context=1 seed=0
. "$(dirname "$0")/utils/parse_options.sh" "$@"
stage_on 3 || exit 0
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
[ -n "$wav_dir" ] || wav_dir=$(cat "$train_dir/.source" 2> /dev/null || echo data/synthetic/wav)

common=(--model_dir "$model_dir" --data_dir "$train_dir" --figures_dir "$figures_dir"
        --rnn_context_len "$context" --seed "$seed")
if [ -n "$input_file" ]; then
  echo "[03] copy-synthesis of $input_file"
  "$PYTHON" synthesize.py --input_file "$input_file" --out_dir "$out_dir/copy" "${common[@]}" "$@"
else
  echo "[03] synthesising speech"
  "$PYTHON" synthesize.py --pls_dir "$out_dir" --testdata_dir "$test_dir" --out_dir "$out_dir/wav" \
    --wav_dir "$wav_dir" "${common[@]}" "$@"
fi
