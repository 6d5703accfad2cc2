#!/usr/bin/env bash
# pretrained/audiornn (issue 25): the exact commands, in order. R=$AUDIOSYNTH_REALDATA, RUN=a run folder.
# The model is trained on the train split, every choice (best epoch, temperature) made on the val split;
# the test split was scored once at the end.
set -e
S=$RUN/split
# 0. Split by speaker/file (FSDD + asterisk16k es/fr/it, resampled to 8 kHz on the fly):
python -m corpus.split --out_dir $S $R/fsdd_8k $R/asterisk16k/{es,fr,it} \
  --speaker_regex '^\d+_([a-z]+)_\d+' --val_speakers theo --test_speakers nicolas --val 0.05 --test 0.05 --seed 0
# 1. Clean teacher forcing, 12 epochs of 500 steps (interrupted after epoch 12; resumable: re-run).
python -m audiornn.AudioRNN -t -d $S/train --val_dir $S/val --preset speech8k -m $RUN/model/audiornn.keras --seed 0
# 2. One epoch with input noise k=3 (LPCNet's noise injection), from a copy of stage 1.
cp -r $RUN/model $RUN/noise3
python -m audiornn.AudioRNN -t -d $S/train --val_dir $S/val --preset speech8k --input_noise 3 -e 13 \
  -m $RUN/noise3/audiornn.keras --seed 0
# 3. Input noise k=2 from a copy of stage 2, best-validation record reset ("best_val_loss": 1e9 in
#    audiornn.state.json) so the best checkpoint is chosen among noise-trained epochs; stopped after
#    epoch 27 of 30 (validation loss flat since epoch 20); best validation loss at epoch 25.
cp -r $RUN/noise3 $RUN/noise2
python -m audiornn.AudioRNN -t -d $S/train --val_dir $S/val --preset speech8k --input_noise 2 -e 30 \
  -m $RUN/noise2/audiornn.keras --seed 0
# 4. Sampling temperature chosen on the val split (level and long-term spectrum of unprimed generation):
python -m audiornn.temperature_sweep -m $RUN/noise2/audiornn.keras \
  --temperatures 1.0 1.1 1.15 1.2 1.25 1.3 --seconds 20 --seed 0 --write_config   # chose 1.1
# 5. Package:
python -m audiornn.export -m $RUN/noise2/audiornn.keras --out_dir pretrained/audiornn \
  --command $RUN/noise2/command_full.sh --split $S/split.json
