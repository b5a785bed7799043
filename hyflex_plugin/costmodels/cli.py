"""Sub-commands of the costmodels stage (scaffold: filled in by the costmodels work)."""


def register(subparsers) -> None:
    """Add this stage's sub-commands to the `hyflex` parser."""
