#!/usr/bin/env bash
# Stage 1: the spoken digits. Reads the Free Spoken Digit Dataset (3000 clips of 6 speakers,
# 8 kHz) once and writes fixed-length arrays split BY SPEAKER (python -m wavegan.data):
# DATA_DIR/{train,val,test}.npz and split.json (train: 4 speakers, val: nicolas, test: theo).
# Clips are padded or cut at the end to 8192 samples. Skipped when DATA_DIR/split.json
# exists already (--force true prepares again).
#
# Usage: bash wavegan/01_prepare.sh [options] [-- extra flags of python -m wavegan.data]
#   --fsdd_dir DIR        FSDD folder of {digit}_{speaker}_{index}.wav
#                         (default $AUDIOSYNTH_REALDATA/fsdd_8k, else ../shared/realdata/fsdd_8k)
#   --data_dir DIR        output folder (default data/wavegan/fsdd)
#   --force true|false    prepare again even if DATA_DIR/split.json exists (default false)
#   --stage N --stop_stage M   this is stage 1: skipped unless N <= 1 <= M
#   -h, --help            this text
# Relative paths are taken from the repository root (the stages run there).
# Extra flags, e.g. `-- --skip_bad` (leave out unreadable files), `-- --align center` or
# `-- --normalize` (every clip to a peak of 0.95).
set -euo pipefail
fsdd_dir="${AUDIOSYNTH_REALDATA:-../shared/realdata}/fsdd_8k" data_dir=data/wavegan/fsdd force=false
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 1 || exit 0
cd "$(dirname "$0")/.."
if [ ! -d "$fsdd_dir" ]; then
  # one line, not a Python traceback: the usual cause is a machine without the real data
  echo "error: 01_prepare.sh: no FSDD folder at $fsdd_dir (give --fsdd_dir DIR or set" \
    "AUDIOSYNTH_REALDATA)" >&2
  exit 1
fi
if [ "$force" != true ] && [ -f "$data_dir/split.json" ]; then
  echo "stage 1: $data_dir is prepared already (--force true to redo)"
  exit 0
fi
echo "=== wavegan stage 1: prepare $fsdd_dir -> $data_dir ==="
python -m wavegan.data --fsdd_dir "$fsdd_dir" --out_dir "$data_dir" "$@"
