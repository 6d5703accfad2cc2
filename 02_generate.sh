#!/usr/bin/env bash
# Stage 2 (ResGAN): generate pulses for every test utterance with the trained models.
#
#   bash 02_generate.sh [--context 1] [--test_dir testdata] [--model_dir models]
#                       [--out_dir output] [--seed 0] [-- any train.py flag]
#
# Writes <out_dir>/<tag>.pls (pulse model + GAN) and <tag>.pls_nonoise (pulse
# model), raw float32, n_frames x 400, row-major (numpy.fromfile(...).reshape(-1, 400)).
# Pass the same --context as to 01_run_train.sh.
# Options: --stage N --stop_stage M run only if 2 is in [N, M] (run.sh passes them on).
# Environment: PYTHON (default python).
set -euo pipefail
context=1 test_dir=testdata model_dir=models out_dir=output seed=0
. "$(dirname "$0")/utils/parse_options.sh" "$@"
stage_on 2 || exit 0
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}

echo "[02] generating test-set pulses"
"$PYTHON" train.py --mode generate --rnn_context_len "$context" --testdata_dir "$test_dir" \
  --model_dir "$model_dir" --out_dir "$out_dir" --seed "$seed" "$@"
