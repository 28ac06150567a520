"""The one error type stage modules raise; the CLI turns it into one stderr line and exit 2."""


class SelfcogError(Exception):
    """A user-facing problem: bad recipe, bad data, missing file. The message is one line."""


class StageError(SelfcogError):
    """A swift stage failed; the CLI exits 1 naming the stage."""

    def __init__(self, stage: str, message: str):
        super().__init__(f"stage {stage} failed: {message}")
        self.stage = stage
