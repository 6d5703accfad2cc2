"""AudioRNN: a GRU predicting the next 8-bit mu-law sample.

Pipeline (read top to bottom):
    AudioRNNData.py  wav folder -> pre-emphasis -> mu-law uint8 codes (cached)
    windows.py       training/validation windows cut on the fly from the codes
    model.py         the network, its per-step (stateful) twin, generation
    AudioRNN.py      command line: prepare, train (-t), generate (-g)
    baseline.py      linear-prediction and unigram baselines
    AudioRNNEval.py  loss/accuracy curves, generated-vs-real figures, baselines
    run.sh           numbered stages on the embedded synthetic corpus
"""
