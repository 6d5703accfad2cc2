"""ResGAN (Juvela et al., ICASSP 2018): MFCC -> glottal pulse model + GAN noise model.

The pipeline's code, read bottom-up (each layer imports only the ones above it
in this list, plus `dsp` and `corpus`):

    constants   shared numbers: 16 kHz, 5 ms hop, 400-sample pulses, 22 input columns
    netcdf      the CURRENNT NetCDF data format: NcData, read/write/validate, import (no Keras)
    pitch       vectorised YIN F0 and voicing
    gci         excitation residual (LSF inverse filter) and glottal closure instants
    figures     training, packaging and synthesis figures (matplotlib, Agg)
    shards      packaging's per-utterance intermediate results (--shard I/N) and their merge
    packaging   speech recordings -> data.nc1 ... data.ncK (inputs and target pulses)
    synthesis   pulses -> speech (PSOLA + all-pole filter), the .pls file format (no Keras)
    dataset     feeding Keras: causal context, PulseSequence, the batch mixer
    models      the Keras networks: pulse model, generator, discriminator (registered "resgan")
    gan         the GAN's training step (TensorFlow only: tf.GradientTape)
    evaluation  generation of .pls files and the metrics of stage 04
    config      train.py's flags, presets (resgan/presets/*.json) and checks (no Keras)
    training    the two training stages, resumable, with figures and saved configurations

Entry points (at the repository root): get_mfcc.py, data_utils.py, models.py,
train.py, synthesize.py and the numbered stages 00_*.sh ... 04_*.sh, run.sh.
See resgan/README.md.
"""
import dsp  # noqa: F401  (first: sets TensorFlow's log level before Keras loads)
