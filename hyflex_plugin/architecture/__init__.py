"""hyflex architecture stage."""
