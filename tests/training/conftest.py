"""Training's tests read what they write with the deployed function's own reader (the oracle)."""
from __future__ import annotations

import sys
from pathlib import Path

# The deployed function's modules (index, models, config, ...) are top-level
# modules at the root of the Lambda zip, with generic names: only the folders
# whose tests need them (tests/function, tests/training) put lambda/ on sys.path.
LAMBDA_DIR = str(Path(__file__).resolve().parents[2] / "lambda")
if LAMBDA_DIR not in sys.path:
    sys.path.insert(0, LAMBDA_DIR)
