"""Sub-commands of the redistribution stage (scaffold: filled in by the redistribution work)."""


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
