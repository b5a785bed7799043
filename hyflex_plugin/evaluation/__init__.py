"""hyflex evaluation stage."""
