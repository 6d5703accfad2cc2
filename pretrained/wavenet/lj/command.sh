#!/usr/bin/env bash
# How pretrained/wavenet/lj was made (issue 19): pretrained/wavenet (the multi-speaker vocoder, epoch 376)
# fine-tuned on the LJSpeech training clips alone, in two runs. Run from the repository root after
# pretrained/wavenet's command.sh has made $RUN/data/lj_{train,val,test} (the same split by file, split_lj.json).
set -euo pipefail
RUN=${RUN:-runs/wavenet16k}
LJ_FLAGS="--sample_rate 16000 --hop 200 --n_fft 800 --mel_fmin 50 --mel_fmax 7600 --upsample repeat --noise_shaping
  --frame_layers 2 --frame_channels 128 --frame_kernel 3 --steps_per_epoch 100 --batch_size 4 --window_frames 16
  --val_fraction 0.1 --ema 0.999 --sample_every 1000 --seed 0"

# Run 1 (2026-12-05): 18 of the 20 training clips to train, 2 for the validation loss (split.json); same
# features and network, Adam with its moments first estimated over 100 steps at learning rate 0, then a
# constant 1e-4. Stopped by hand after epoch 442; the EMA weights of epoch 441 (chosen on the validation
# clips, STOI 0.895) were exported to $RUN/lj_e441 (they were the first pretrained/wavenet/lj).
python -m wavenet.train --data_dir "$RUN"/data/lj_train --out_dir "$RUN"/lj \
  --init_from pretrained/wavenet/vocoder.keras --warm_steps 100 $LJ_FLAGS \
  --epochs 450 --lr 1e-4 --lr_halve_every 1000000
python -m wavenet.export --run_dir "$RUN"/lj --out_dir "$RUN"/lj_e441

# Run 2 (2026-12-06; run 1's folder was lost with its machine): from those exported weights, fresh Adam
# (moments estimated over 100 steps at learning rate 0), the same split (split.json and log.csv copied in),
# a constant 1e-4 up to epoch 473; then (resumed with the flag changed; Adam's moments and step count kept,
# the weight average restarted from the current weights) the learning rate halved every 3,000 optimizer
# steps (5e-5 from epoch 474, 2.5e-5 from about epoch 500). Stopped by hand after epoch 520.
mkdir -p "$RUN"/lj2 && cp "$RUN"/lj/split.json "$RUN"/lj/log.csv "$RUN"/lj2/
python -m wavenet.train --data_dir "$RUN"/data/lj_train --out_dir "$RUN"/lj2 \
  --init_from "$RUN"/lj_e441/vocoder.keras --warm_steps 100 $LJ_FLAGS \
  --epochs 560 --lr 1e-4 --lr_halve_every 1000000          # stopped by hand after epoch 473
python -m wavenet.train --data_dir "$RUN"/data/lj_train --out_dir "$RUN"/lj2 $LJ_FLAGS \
  --epochs 560 --lr 1e-4 --lr_halve_every 3000             # resumes at epoch 473; stopped by hand after 520

# The epoch was chosen on the 6 validation clips LJ001-0021..26 (raw WaveNet samples, seed 0: STOI, then
# DNSMOS P.808) among the EMA copies of epochs 450, 460, ..., 520; the best three were sampled again with
# seeds 1 and 2 (--seed 1 --repeats 2) and epoch 520 kept (mean STOI over the 3 seeds 0.9004), e.g.
#   python -m wavenet.evaluate --model COPY/ema.keras --input_dir "$RUN"/data/lj_val --out_dir COPY/eval_val \
#     --methods wavenet --repeats 1
# then exported, and the 6 test clips LJ001-0027..32 scored once:
#   python -m wavenet.export --run_dir RUN_WITH_THE_CHOSEN_COPY --out_dir pretrained/wavenet/lj
python -m wavenet.evaluate --model_dir pretrained/wavenet/lj --input_dir "$RUN"/data/lj_test \
  --out_dir "$RUN"/lj_eval_test --repeats 3
