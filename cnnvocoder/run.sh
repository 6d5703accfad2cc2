#!/usr/bin/env bash
# The whole CNN-vocoder pipeline: data -> train -> synthesise -> compare.
# Aimed at <= 15 min on an idle 2-core CPU with the defaults (not yet timed on an
# idle machine); see cnnvocoder/README.md.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/01_preprocess.sh"
bash "$here/02_train.sh"
bash "$here/03_synthesize.sh"
bash "$here/04_compare.sh"
