"""One torchrun rank of `run`'s sft: the recipe's trust_remote_code policy, then swift's own sft entry.

torchrun starts every rank as a fresh interpreter, so the policy `run` set in its own process
(inference.allow_remote_code) is set again here, from the environment, before swift loads anything.
"""

from __future__ import annotations

import os
import runpy
import sys
from importlib.util import find_spec

# "1" when the recipe sets model.trust_remote_code; unset or anything else: the model's own code never runs.
POLICY_ENV = "SELFCOG_TRUST_REMOTE_CODE"


def main() -> None:
    """Apply the policy, then run `swift/cli/sft.py` as `swift sft` would under torchrun (same argv)."""
    from .inference import allow_remote_code

    allow_remote_code(os.environ.get(POLICY_ENV) == "1")
    script = find_spec("swift.cli.sft").origin
    sys.argv[0] = script
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
