#!/usr/bin/env bash
# Stage 02: generate pulses for every test utterance with the trained models.
#
#   ./02_generate.sh [--context N] [any train.py flag, e.g. --output_dir DIR]
#
# Writes <output_dir>/<tag>.pls (pulse model + GAN) and <tag>.pls_nonoise (pulse
# model), raw float32, n_frames x 400, row-major (numpy.fromfile(...).reshape(-1, 400)).
# Pass the same --context as to 01_run_train.sh.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
source ./_stage_args.sh "$@"
echo "[02] generating test-set pulses"
"$PYTHON" train.py --mode generate --rnn_context_len "$CONTEXT" ${EXTRA[@]+"${EXTRA[@]}"}
