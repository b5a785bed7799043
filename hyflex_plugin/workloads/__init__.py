"""hyflex workloads stage."""
