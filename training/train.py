"""SageMaker training entry point: `python train.py` (settings from the environment, see README.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Before any Hugging Face import: the base model is a local directory, never a hub download.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# In a source checkout `relay.evaluation` lives in the Lambda layer's tree; in the SageMaker
# source bundle (see package.py) it sits beside this file and the line below finds nothing.
LAYER = HERE.parent / "layers" / "relay"
if LAYER.is_dir():
    sys.path.append(str(LAYER))

from relay_training.main import main  # noqa: E402 - needs the paths above

if __name__ == "__main__":
    raise SystemExit(main())
