"""Sub-commands of the evaluation stage (scaffold: filled in by the evaluation work)."""


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
