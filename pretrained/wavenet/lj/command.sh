#!/usr/bin/env bash
# How pretrained/wavenet/lj was made (issue 19): pretrained/wavenet (the multi-speaker vocoder, epoch 376)
# fine-tuned on the LJSpeech training clips alone. Run from the repository root after pretrained/wavenet's
# command.sh has made $RUN/data/lj_{train,val,test} (the same split by file, split_lj.json).
set -euo pipefail
RUN=${RUN:-runs/wavenet16k}

# 18 of the 20 training clips to train, 2 for the validation loss (split.json); same features and network,
# Adam with its moments first estimated over 100 steps at learning rate 0, then a constant 1e-4.
# Checkpoints every epoch in $RUN/lj/ckpt (resumable); the EMA weights were copied every 5 epochs. Started with
# --epochs 440 and resumed with 450 (same run); stopped by hand after epoch 442 for the session's end.
python -m wavenet.train --data_dir "$RUN"/data/lj_train \
  --out_dir "$RUN"/lj --init_from pretrained/wavenet/vocoder.keras --warm_steps 100 \
  --sample_rate 16000 --hop 200 --n_fft 800 --mel_fmin 50 --mel_fmax 7600 --upsample repeat --noise_shaping \
  --frame_layers 2 --frame_channels 128 --frame_kernel 3 \
  --epochs 450 --steps_per_epoch 100 --batch_size 4 --window_frames 16 --val_fraction 0.1 \
  --lr 1e-4 --lr_halve_every 1000000 --ema 0.999 --sample_every 1000 --seed 0

# The epoch was chosen on the 6 validation clips LJ001-0021..26 (raw WaveNet samples, seed 0: STOI, then
# DNSMOS P.808) among the copies of epochs 380, 390, 400, 410, 430 and 440 (440 kept: STOI 0.895), e.g.
#   python -m wavenet.evaluate --model COPY/ema.keras --input_dir "$RUN"/data/lj_val --out_dir COPY/eval_val \
#     --methods wavenet --repeats 1
# then exported, and the 6 test clips LJ001-0027..32 scored once:
#   python -m wavenet.export --run_dir RUN_WITH_THE_CHOSEN_COPY --out_dir pretrained/wavenet/lj
python -m wavenet.evaluate --model_dir pretrained/wavenet/lj --input_dir "$RUN"/data/lj_test \
  --out_dir "$RUN"/lj_eval_test --repeats 3
