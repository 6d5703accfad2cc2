#!/usr/bin/env bash
# Stage 4 (ResGAN): evaluate the pulse model and the GAN on the test set.
#
#   bash 04_evaluate.sh [--context 1] [--train_dir traindata] [--test_dir testdata]
#                       [--model_dir models] [--wav_dir DIR] [--seed 0]
#                       [-- train.py flags, e.g. --eval_utts 5]
#
# Prints one JSON line: mse_pulse (and the baselines mse_zero, mse_mean_pulse);
# lsd_{lf,hf}_{pulse,gan} (log-spectral distance to the real pulses, 0-4 / 4-8 kHz,
# dB); lsd_hf_gan_init (untrained generator, for reference); mcd_{impulse,pulse,gan}
# (mel-cepstral distortion of the synthesised speech against the recordings in
# --wav_dir; default: the folder 00_get_data.sh packaged, noted in
# <train_dir>/.source). The line is also saved to <model_dir>/eval.json.
# The paper's claim holds when lsd_hf_gan < lsd_hf_pulse.
# Options: --stage N --stop_stage M run only if 4 is in [N, M] (run.sh passes them on).
# Environment: PYTHON (default python).
set -euo pipefail
context=1 train_dir=traindata test_dir=testdata model_dir=models wav_dir="" seed=0
. "$(dirname "$0")/utils/parse_options.sh" "$@"
stage_on 4 || exit 0
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
[ -n "$wav_dir" ] || wav_dir=$(cat "$train_dir/.source" 2> /dev/null || echo data/synthetic/wav)

mkdir -p "$model_dir"
"$PYTHON" train.py --mode evaluate --rnn_context_len "$context" --data_dir "$train_dir" \
  --testdata_dir "$test_dir" --model_dir "$model_dir" --recordings_dir "$wav_dir" --seed "$seed" "$@" \
  | tee "$model_dir/eval.json.tmp"
mv "$model_dir/eval.json.tmp" "$model_dir/eval.json"
"$PYTHON" - "$model_dir/eval.json" <<'PY'
import json
import sys

r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
pulse, gan = r["lsd_hf_pulse"], r["lsd_hf_gan"]
print(f"[04] 4-8 kHz log-spectral distance to the real pulses: pulse model {pulse:.2f} dB, "
      f"GAN {gan:.2f} dB (untrained generator {r['lsd_hf_gan_init']:.2f} dB) -> "
      f"GAN restores the high band: {gan < pulse}")
PY
