#!/bin/bash
# How pretrained/resgan was made (issue 18), from the repository root, on 2 CPU cores.
# R: the real-data folder (../shared/realdata: asterisk16k, ljspeech_sample).
set -euo pipefail
R=${AUDIOSYNTH_REALDATA:-../shared/realdata}
RUN=${RUN:-runs/resgan16k}
# 1. training speakers es (f) and it (m); held out for testing: fr (f) and LJSpeech (f)
mkdir -p $RUN/corpus $RUN/testwav/fr $RUN/testwav/lj
ln -sfn "$(realpath $R/asterisk16k/es)" $RUN/corpus/es
ln -sfn "$(realpath $R/asterisk16k/it)" $RUN/corpus/it
for f in $(LC_ALL=C ls "$(realpath $R/asterisk16k/fr)"/*.flac | awk 'NR % 5 == 1'); do ln -sf "$f" $RUN/testwav/fr/; done
ln -sf "$(realpath $R/ljspeech_sample/wavs)"/*.wav $RUN/testwav/lj/
# 2. package: 94 % of the files to train, 6 % (62 files, by file) to validate (early stopping only)
python data_utils.py package --wav_dir $RUN/corpus --out_dir $RUN/traindata --test_dir $RUN/valdata \
  --test_fraction 0.06 --jobs 2 --skip_bad --figures_dir $RUN/figures/packaging --seed 0
# 3. train both stages (resumable: re-run the same command after an interruption). Stage 1 was
#    stopped by hand after 26 of the preset's 40 epochs (the validation curve had flattened),
#    hence --epochs_pulse 26; stage 2 ran its 15 epochs.
python train.py --mode train --preset speech16k --data_dir $RUN/traindata --val_dir $RUN/valdata \
  --testdata_dir $RUN/valdata --model_dir $RUN/models --figures_dir $RUN/figures --seed 0 --epochs_pulse 26
# 4. choose the generator's epoch on the validation files (es, it: STOI, then MCD): 10 of 15
for e in 03 05 07 10 15; do
  mkdir -p $RUN/e$e && cp $RUN/models/pulse_model.keras $RUN/models/stats.json $RUN/e$e/
  cp $RUN/models/generator_e$e.keras $RUN/e$e/generator.keras
  python train.py --mode evaluate --model_dir $RUN/e$e --wav_dir $RUN/valwav > $RUN/eval_val_e$e.json
done
#    ($RUN/valwav/{es,it}: links to the 38 validation recordings of valdata/data.nc1's tags)
# 5. ship, then score the held-out speakers once
python -m resgan.export --model_dir $RUN/models --out_dir pretrained/resgan --generator_epoch 10 \
  --command $RUN/ship_command.sh --figures $RUN/figures/resgan_learning_curve.png
python train.py --mode evaluate --model_dir pretrained/resgan --wav_dir $RUN/testwav --figures_dir $RUN/figures
python train.py --mode evaluate --model_dir pretrained/resgan --wav_dir $RUN/testwav/fr
python train.py --mode evaluate --model_dir pretrained/resgan --wav_dir $RUN/testwav/lj
