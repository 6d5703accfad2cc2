#!/usr/bin/env bash
# The whole CNN-vocoder pipeline: data -> train -> synthesise -> compare.
# With the defaults: 5 min 40 s in a fresh clone on 2 CPU cores (load 3, 310 s CPU);
# see cnnvocoder/README.md.
set -euo pipefail
here="$(dirname "$0")"
bash "$here/01_preprocess.sh"
bash "$here/02_train.sh"
bash "$here/03_synthesize.sh"
bash "$here/04_compare.sh"
