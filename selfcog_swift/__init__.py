"""selfcog-swift: self-cognition fine-tuning recipes rendered into ms-swift 4.6 runs."""

__version__ = "0.1.0"
