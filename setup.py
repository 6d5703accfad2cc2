"""Install the toolkit: `pip install -e .` (tests: `pip install -e ".[test]"`).

CPU machines get tensorflow-cpu.  On a GPU machine install
`tensorflow[and-cuda]` instead (first `pip uninstall tensorflow-cpu`: the two
packages overwrite each other and must never be installed together).
"""
from setuptools import find_packages, setup

PACKAGES = ("dsp", "corpus", "resgan", "wavenet", "audiornn", "separation", "cnnvocoder",
            "wavegan")

setup(
    name="neural-audio-synthesis",
    version="0.1.0",
    description="Keras 3 reproductions of ResGAN, AudioRNN, a WaveNet vocoder, speech "
                "synthesis for separation and a CNN vocoder, on one shared DSP core",
    python_requires=">=3.10",
    # packages only: the root scripts (get_mfcc.py, data_utils.py, models.py, train.py,
    # synthesize.py) are run from the checkout and import from these packages, so no
    # generic module name (models, train, ...) lands in site-packages.
    packages=find_packages(include=list(PACKAGES) + [f"{p}.*" for p in PACKAGES]),
    package_data={p: ["presets/*.json", "presets/*/*.json"] for p in PACKAGES},
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
        "soxr>=0.3",
        "tqdm>=4.60",
        "pesq>=0.0.4",
        "pystoi>=0.3",
        "speechmos>=0.0.1",
        "onnxruntime>=1.16",
        "visqol-python[lattice]>=3.8",
        "tensorboard>=2.16",
        "threadpoolctl>=3",
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6"]},
)
