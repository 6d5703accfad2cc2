#!/usr/bin/env bash
# Stage 2: train a GAN with WGAN-GP on the prepared digits (python -m wavegan.train).
# The default preset <model>_quick is the short run of run.sh (specgan: 400 steps, a snapshot
# every 50); <model>_cpu learns in hours on 2 CPU cores, <model>_paper are the published
# settings (GPU sizes). Re-running resumes from RUN_DIR/last.weights.h5 (--resume false
# starts over); a larger --steps continues a finished run.
#
# Usage: bash wavegan/02_train.sh [options] [-- extra flags of python -m wavegan.train]
#   --model NAME          wavegan, specgan or tifgan (default specgan)
#   --preset NAME|FILE    wavegan/presets/NAME.json or a .json file (default <model>_quick)
#   --data_dir DIR        output of stage 1 (default data/wavegan/fsdd)
#   --run_dir DIR         checkpoints, log.csv, samples/, snapshots/ (default models/wavegan/<model>)
#   --steps N             generator steps in total (default: the preset's)
#   --resume true|false   continue an interrupted run (default true)
#   --seed N              (default 0)
#   --stage N --stop_stage M   this is stage 2: skipped unless N <= 2 <= M
#   -h, --help            this text
# Any flag of the trainer passes through, e.g. `-- --phase_shuffle 0 --quiet`.
set -euo pipefail
model=specgan preset="" data_dir=data/wavegan/fsdd run_dir="" steps="" resume=true seed=0
. "$(dirname "$0")/../utils/parse_options.sh" "$@"
stage_on 2 || exit 0
cd "$(dirname "$0")/.."
# defaults that depend on --model are filled in after parsing
preset=${preset:-${model}_quick} run_dir=${run_dir:-models/wavegan/$model}
args=(--model "$model" --preset "$preset" --data_dir "$data_dir" --out_dir "$run_dir" --seed "$seed")
if [ -n "$steps" ]; then args+=(--steps "$steps"); fi
if [ "$resume" = true ]; then args+=(--resume); else args+=(--no-resume); fi
echo "=== wavegan stage 2: train $model (preset $preset) in $run_dir ==="
python -m wavegan.train "${args[@]}" "$@"
