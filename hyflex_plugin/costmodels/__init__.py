"""hyflex costmodels stage."""
