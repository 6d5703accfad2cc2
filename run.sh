#!/usr/bin/env bash
# The main job: every ResGAN stage on the embedded default data, from a fresh
# clone on a CPU machine.  Each stage skips what is already done, so re-running
# resumes.  Pass --paper for the paper's training settings (long on a CPU).
set -euo pipefail
cd "$(dirname "$0")"
export TF_CPP_MIN_LOG_LEVEL=2
bash 00_make_dirs.sh
bash 00_get_data.sh --synthetic
bash 01_run_train.sh "$@"
bash 02_generate.sh
bash 03_synthesize.sh
bash 04_evaluate.sh
echo "done: figures in figures/, checkpoints in models/, audio in output/"
