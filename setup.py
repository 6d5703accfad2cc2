"""Install the toolkit: `pip install -e .` (tests: `pip install -e ".[test]"`).

CPU machines get tensorflow-cpu.  On a GPU machine install
`tensorflow[and-cuda]` instead (first `pip uninstall tensorflow-cpu`: the two
packages overwrite each other and must never be installed together).
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent

setup(
    name="neural-audio-synthesis",
    version="0.1.0",
    description="Keras 3 reproductions of ResGAN, AudioRNN, speech synthesis for "
                "separation and a CNN vocoder, on one shared DSP core",
    python_requires=">=3.10",
    # the ResGAN pipeline lives at the root as flat modules (get_mfcc, data_utils, ...)
    py_modules=sorted(p.stem for p in HERE.glob("*.py") if p.stem != "setup"),
    packages=find_packages(include=["dsp", "dsp.*", "corpus", "corpus.*", "audiornn",
                                    "audiornn.*", "separation", "separation.*",
                                    "cnnvocoder", "cnnvocoder.*"]),
    install_requires=[
        "keras>=3.3,<4",
        "tensorflow-cpu>=2.16",
        "numpy>=1.24",
        "scipy>=1.10",
        "librosa>=0.10",
        "netCDF4>=1.6",
        "scikit-learn>=1.2",
        "matplotlib>=3.7",
        "soundfile>=0.12",
        "tqdm>=4.60",
        "pesq>=0.0.4",
        "pystoi>=0.3",
        "tensorboard>=2.16",
        "threadpoolctl>=3",
    ],
    extras_require={"test": ["pytest>=7", "hypothesis>=6"]},
)
