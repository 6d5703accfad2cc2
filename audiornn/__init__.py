import dsp  # noqa: F401  (first: sets TensorFlow's log level before Keras loads)

# AudioRNN: a GRU predicting the next 8-bit mu-law sample (see audiornn/README.md).
#
# Pipeline (read top to bottom):
#     AudioRNNData.py  wav folder -> pre-emphasis -> mu-law uint8 codes (cached)
#     windows.py       training/validation windows cut on the fly from the codes
#     model.py         the network and its per-step twin (any Keras backend)
#     generation.py    stateful and sliding-window generation (TensorFlow-only)
#     checkpoint.py    the files kept beside a checkpoint, atomic checkpointing
#     AudioRNN.py      command line: train (-t), generate (-g), --preset NAME
#     baseline.py      linear-prediction and unigram baselines
#     AudioRNNEval.py  loss/accuracy curves, generated-vs-real figures, baselines
#     presets/         default.json (small CPU run), original.json (the original sizes)
#     run.sh           the numbered stages 00_data.sh .. 03_eval.sh, options passed on
