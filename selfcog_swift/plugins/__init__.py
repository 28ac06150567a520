"""swift plugins that ship with selfcog-swift, loaded by `swift sft --external_plugins FILE`.

They are part of the package (not user code): `render` adds their flags and environment, so the
rendered command is what runs. Importing this package imports neither torch nor swift.
"""

from pathlib import Path

PLUGINS_DIR = Path(__file__).resolve().parent
HOLD_BASE_PLUGIN = PLUGINS_DIR / "hold_base.py"
"""The plugin file for `tuning.hold_base` (a trainer that adds KL(base ‖ tuned) on chosen rows)."""
HOLD_BASE_WEIGHT_ENV = "SELFCOG_HOLD_BASE_WEIGHT"
HOLD_BASE_CHANNELS_ENV = "SELFCOG_HOLD_BASE_CHANNELS"
"""How `render` tells the plugin its weight and which rows' `channel` values it holds (comma-separated):
swift rejects flags it does not know, and environment variables reach torchrun's children too."""
CHANNELS = {"identity": "identity", "datasets": "general", "replay": "replay"}
"""The `channel` data.py writes on each row of the mix when `tuning.hold_base` is on, by source."""
HELD_CHANNELS = {"replay": ("replay",), "general": ("general", "replay")}
"""`tuning.hold_base.rows` -> the channels that get the term; identity rows never do."""

__all__ = ["CHANNELS", "HELD_CHANNELS", "HOLD_BASE_CHANNELS_ENV", "HOLD_BASE_PLUGIN", "HOLD_BASE_WEIGHT_ENV",
           "PLUGINS_DIR"]
