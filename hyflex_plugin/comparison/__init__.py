"""hyflex comparison stage."""
