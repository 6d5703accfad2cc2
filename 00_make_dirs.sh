#!/usr/bin/env bash
# Stage 00: create the working folders of the ResGAN pipeline.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p data traindata testdata output models figures logs
echo "folders ready: data traindata testdata output models figures logs"
