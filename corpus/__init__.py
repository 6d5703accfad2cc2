"""Data for every pipeline: the embedded synthetic speech corpus, synthetic noises,
and readers for real corpora (generic wav folders, LJSpeech, CMU ARCTIC, ESC-50,
McGill TSP).

Modules:
    synth         source-filter speech synthesizer + ground truth (make_corpus)
    prosody       speakers, random phone plans, F0 contours
    glottal       LF glottal flow derivative model
    vocal_tract   formants -> all-pole filters, time-varying filtering
    noise         ESC-50-like folder of synthetic noises (make_noises)
    readers       real-corpus readers that fail clearly on a bad layout
    realdata      where the real recordings live ($AUDIOSYNTH_REALDATA)
    plot          figure of an utterance with its ground truth
CLIs: ``python -m corpus.make_synthetic``, ``python -m corpus.make_noises``.
"""
