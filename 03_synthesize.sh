#!/usr/bin/env bash
# Stage 03: pulses -> audible speech, three excitations side by side.
#
#   ./03_synthesize.sh [synthesize.py flags, e.g. --max_utts 2]
#   ./03_synthesize.sh --input_file my.wav      # copy-synthesis of any recording
#
# Test set: output/wav/<tag>_{impulse,pulse,gan}.wav (16 kHz) from output/<tag>.pls*
# (02_generate.sh) and the test features; figures/resgan_synthesis.png compares
# their spectrograms with the original recording.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python}
for a in "$@"; do
  case "$a" in -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac
done
echo "[03] synthesising speech"
"$PYTHON" synthesize.py "$@"
