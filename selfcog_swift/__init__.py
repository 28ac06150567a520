"""selfcog-swift: self-cognition fine-tuning recipes rendered into ms-swift 4.6 runs."""

from pathlib import Path

__version__ = "0.1.0"

# The packaged data (identity rows, general rows, probes, prompt pools, real text, model sources).
RESOURCES = Path(__file__).resolve().parent / "resources"
