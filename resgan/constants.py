"""Numbers shared by every part of ResGAN (one definition each).

The acoustic frames are those of get_mfcc.py: 16 kHz audio, a 5 ms hop
(80 samples), frame t centred on sample 80 t. Each frame carries 22 input
columns (20 MFCCs, ln F0, voicing) and one 400-sample excitation pulse centred
at sample 200.
"""

SAMPLE_RATE = 16000
FRAME_HOP = 80                      # samples per frame (5 ms)
PULSE_LENGTH = 400                  # samples per target pulse
CENTRE = PULSE_LENGTH // 2          # index of the GCI in a voiced pulse
# RMS of a unit-energy pulse (the packaged targets): the pulse model's fixed output
# gain, so that its convolutions work at unit scale
PULSE_RMS = PULSE_LENGTH ** -0.5

N_MFCC = 20
N_INPUTS = 22                       # N_MFCC + ln F0 + voicing flag
LOG_F0_COLUMN = 20
VOICING_COLUMN = 21
INPUT_COLUMNS = (
    "0-19: MFCC c0..c19 of get_mfcc.py (c0 = frame energy in dB); "
    "20: log F0 (ln Hz, linearly interpolated over unvoiced frames); "
    "21: voicing flag (1 voiced, 0 unvoiced)"
)
F0_METHOD = "vectorised YIN (resgan.pitch.yin), 60-400 Hz"   # the packaged files' f0_method attribute

# a trained model folder (models/, pretrained/resgan/; resgan.model_folder)
MODEL_FILES = ("pulse_model.keras", "generator.keras")
STATS_FILE = "stats.json"            # input normalisation and mean pulses of the training data
