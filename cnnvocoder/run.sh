#!/usr/bin/env bash
# The whole CNN-vocoder pipeline: data -> train -> synthesise -> compare.
# ~15 min on a 2-core CPU with the defaults; see cnnvocoder/README.md.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/01_preprocess.sh"
bash "$here/02_train.sh"
bash "$here/03_synthesize.sh"
bash "$here/04_compare.sh"
