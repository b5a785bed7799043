"""hyflex export stage."""
