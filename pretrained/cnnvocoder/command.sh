#!/usr/bin/env bash
# The exact command that trained pretrained/cnnvocoder (2026-12-05, 2 CPU cores, 28 min).
# AUDIOSYNTH_REALDATA holds ljspeech_sample/wavs; the fixed split of cnnvocoder/ljspeech_split.py:
# LJ001-0001..0020 to train, LJ001-0021..0026 to keep the epoch with the lowest val_sc.
set -euo pipefail
cd "$(dirname "$0")/../.."
export AUDIOSYNTH_REALDATA="${AUDIOSYNTH_REALDATA:-../shared/realdata}"
python -m cnnvocoder.train_refiner --preset cpu --model_dir models/cnnvocoder_refiner --seed 0
# (the shipped run wrote to a --model_dir outside the clone; nothing else differed)
# then: cp models/cnnvocoder_refiner/{model.keras,model.json,log.csv,learning_curve.png} pretrained/cnnvocoder/
