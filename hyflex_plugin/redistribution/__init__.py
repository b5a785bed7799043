"""hyflex redistribution stage."""
