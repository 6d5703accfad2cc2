#!/usr/bin/env bash
# AudioRNN recipe: numbered stages on the embedded synthetic corpus at 8 kHz.
#
#   audiornn/run.sh                          # all stages, small defaults (<= 15 min on 2 CPU cores)
#   audiornn/run.sh --stage 2 --stop_stage 3 # only generate and evaluate
#   audiornn/run.sh --datadir /data/LJSpeech-1.1/wavs --timesteps 1000 --neurons 256 \
#                   --batchsize 128 --accumulate 8 --epochs 50 --steps_per_epoch 2000   # the original sizes
# Options: --stage --stop_stage --datadir --minutes --samplerate --timesteps --neurons --batchsize
#          --accumulate --epochs --steps_per_epoch --val_windows --genlength --num_streams
#          --temperature --modelfile --audiofile --seed
#
# Stages: 0 data (synthesise the corpus unless --datadir is given, encode it to
# uint8 mu-law codes), 1 train (resumes if interrupted), 2 generate, 3 eval.
set -euo pipefail
cd "$(dirname "$0")/.."

stage=0
stop_stage=3
datadir=""              # default: data/audiornn_corpus, synthesised in stage 0
minutes=4               # length of the synthetic corpus
samplerate=8000
timesteps=128
neurons=128
batchsize=32
accumulate=1            # micro-batches per batch (less memory at large T x batch)
epochs=5
steps_per_epoch=150
val_windows=1024
genlength=2
num_streams=2
temperature=0.9
modelfile=models/audiornn/audiornn.keras
audiofile=output/audiornn/generated.wav
seed=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --stage|--stop_stage|--datadir|--minutes|--samplerate|--timesteps|--neurons|--batchsize|\
    --accumulate|--epochs|--steps_per_epoch|--val_windows|--genlength|--num_streams|--temperature|\
    --modelfile|--audiofile|--seed)
      [[ $# -ge 2 ]] || { echo "error: $1 needs a value" >&2; exit 1; }
      printf -v "${1#--}" '%s' "$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done

if [[ -z "$datadir" ]]; then
  datadir=data/audiornn_corpus
  synthesise=1
else
  synthesise=0
fi
cache="${modelfile%.keras}.codes.npz"

if [[ $stage -le 0 && $stop_stage -ge 0 ]]; then
  echo "=== stage 0: data ($datadir) ==="
  if [[ $synthesise -eq 1 && ! -f "$datadir/metadata.csv" ]]; then
    python -m corpus.make_synthetic --out_dir "$datadir" --minutes "$minutes" \
      --sr "$samplerate" --seed "$seed"
  fi
  mkdir -p "$(dirname "$modelfile")"
  python audiornn/AudioRNNData.py -d "$datadir" -sr "$samplerate" -o "$cache"
fi

if [[ $stage -le 1 && $stop_stage -ge 1 ]]; then
  echo "=== stage 1: train ==="
  python audiornn/AudioRNN.py -t -d "$datadir" -sr "$samplerate" -ts "$timesteps" \
    -n "$neurons" -b "$batchsize" --accumulate "$accumulate" -e "$epochs" --steps_per_epoch "$steps_per_epoch" \
    --val_windows "$val_windows" -m "$modelfile" --cache "$cache" --seed "$seed"
fi

if [[ $stage -le 2 && $stop_stage -ge 2 ]]; then
  echo "=== stage 2: generate ==="
  python audiornn/AudioRNN.py -g -gl "$genlength" --num_streams "$num_streams" \
    --temperature "$temperature" -m "$modelfile" -a "$audiofile" --seed "$seed"
fi

if [[ $stage -le 3 && $stop_stage -ge 3 ]]; then
  echo "=== stage 3: eval ==="
  python audiornn/AudioRNNEval.py -m "$modelfile" -a "$audiofile" --figdir figures \
    --val_windows "$val_windows" --seed "$seed"
fi
