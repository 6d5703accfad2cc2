#!/usr/bin/env bash
# Stage 04: evaluate the pulse model and the GAN on the test set.
#
#   ./04_evaluate.sh [--context N] [train.py flags, e.g. --wav_dir DIR --eval_utts 5]
#
# Prints one JSON line: mse_pulse; lsd_{lf,hf}_{pulse,gan} (log-spectral distance
# to the real pulses, 0-4 / 4-8 kHz, dB); lsd_hf_gan_init (untrained generator,
# for reference); mcd_{impulse,pulse,gan} (mel-cepstral distortion of the
# synthesised speech against the recordings in --wav_dir). The line is also
# saved to models/eval.json. The paper's claim holds when lsd_hf_gan < lsd_hf_pulse.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
source ./_stage_args.sh "$@"
mkdir -p models
"$PYTHON" train.py --mode evaluate --rnn_context_len "$CONTEXT" ${EXTRA[@]+"${EXTRA[@]}"} | tee models/eval.json.tmp
mv models/eval.json.tmp models/eval.json
"$PYTHON" - <<'PY'
import json
r = json.loads(open("models/eval.json").read().strip().splitlines()[-1])
pulse, gan = r["lsd_hf_pulse"], r["lsd_hf_gan"]
print(f"[04] 4-8 kHz log-spectral distance to the real pulses: pulse model {pulse:.2f} dB, "
      f"GAN {gan:.2f} dB (untrained generator {r['lsd_hf_gan_init']:.2f} dB) -> "
      f"GAN restores the high band: {gan < pulse}")
PY
