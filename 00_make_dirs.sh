#!/usr/bin/env bash
# Stage 0 (ResGAN): create the working folders of the pipeline.
#
#   bash 00_make_dirs.sh [--data_dir data] [--train_dir traindata] [--test_dir testdata]
#                        [--out_dir output] [--model_dir models] [--figures_dir figures]
#
# Options: the folders to create (paths relative to the repository root), and
#   --stage N --stop_stage M   run only if 0 is in [N, M] (run.sh passes them on)
set -euo pipefail
data_dir=data train_dir=traindata test_dir=testdata out_dir=output model_dir=models figures_dir=figures
. "$(dirname "$0")/utils/parse_options.sh" "$@"
stage_on 0 || exit 0
cd "$(dirname "$0")"

mkdir -p "$data_dir" "$train_dir" "$test_dir" "$out_dir" "$model_dir" "$figures_dir"
echo "folders ready: $data_dir $train_dir $test_dir $out_dir $model_dir $figures_dir"
