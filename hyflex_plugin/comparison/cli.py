"""Sub-commands of the comparison stage (scaffold: filled in by the comparison work)."""


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
