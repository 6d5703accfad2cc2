#!/usr/bin/env python
"""ResGAN's Keras networks (ICASSP 2018): pulse model, GAN generator, discriminator.

The code is ``resgan/models.py``; its names are re-exported here, the entry
point the design names::

    from models import build_pulse_model, build_generator, build_discriminator

``python models.py [--context N]`` prints the three networks' summaries and
parameter counts (488,101 / 309,016 / 454,721 with the defaults).
"""
import argparse
import sys

from resgan.models import (EDGE_RAMP, FFT_LENGTH, N_FEATURES, PACKAGE, PULSE_LENGTH, PULSE_RMS,
                           ExpandChannel, FixedGain, SpectralMSE, SpectralView, SqueezeChannel,
                           build_discriminator, build_generator, build_pulse_model, edge_window,
                           spectral_view_numpy)

__all__ = ["EDGE_RAMP", "FFT_LENGTH", "N_FEATURES", "PACKAGE", "PULSE_LENGTH", "PULSE_RMS",
           "ExpandChannel", "FixedGain", "SpectralMSE", "SpectralView", "SqueezeChannel",
           "build_discriminator", "build_generator", "build_pulse_model", "edge_window",
           "spectral_view_numpy", "main"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="models.py", description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, default=1,
                        help="GRU context of the pulse model in frames (train.py --rnn_context_len)")
    args = parser.parse_args(argv)
    nets = (build_pulse_model(context_len=args.context), build_generator(), build_discriminator())
    for net in nets:
        net.summary()
    for net in nets:
        print(f"{net.name}: {net.count_params():,} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
