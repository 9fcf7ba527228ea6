"""ditas-tf: multi-stage residual hiding of images in audio (TensorFlow / Keras 3)."""

import os

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
version = {}
with open(os.path.join(here, "ditas_tf", "version.py")) as f:
    exec(f.read(), version)

with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="ditas-tf",
    version=version["__version__"],
    description="DITAS: multi-stage residual hiding for image-into-audio steganography",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # Only the library is installed; export/ and scripts/ stay repository folders.
    packages=find_packages(include=["ditas_tf", "ditas_tf.*"]),
    package_data={
        "ditas_tf": [
            "presets/*.yaml",
            "models/*/config.yaml",
            "models/*/*.weights.h5",
            "models/*/*.tflite",
            "models/*/graphs.json",
            "samples/*",
        ]
    },
    install_requires=[
        "tensorflow>=2.18,<2.22",
        "keras>=3.8,<4",
        "numpy>=1.26,<3",
        "scikit-image>=0.22",
        "click>=8.1,<9",
        "soundfile>=0.12",
        "soxr>=0.3",
        "pesq>=0.0.4",
        "pyyaml>=6",
        "pillow>=10",
        "tqdm>=4.60",
        "tensorboard>=2.18",
        "matplotlib>=3.7",
        "scipy>=1.10",
        # hide / reveal / demo run the shipped models' LiteRT graphs without importing TensorFlow.
        "ai-edge-litert>=1.2",
    ],
    extras_require={
        "export": [],  # kept so that older install commands still work: LiteRT is a base requirement now
        "dev": ["pytest>=8", "ruff>=0.6"],
    },
    entry_points={
        "console_scripts": [
            "ditas = ditas_tf.cli:main",
            "ditas-train = ditas_tf.cli:train_main",
        ]
    },
)
