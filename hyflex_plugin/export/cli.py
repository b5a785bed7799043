"""Sub-commands of the export stage (scaffold: filled in by the export work)."""


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
