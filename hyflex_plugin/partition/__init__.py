"""The partition file (schema, load, dump)."""

from hyflex_plugin.partition.schema import (
    SCHEMA_VERSION,
    ImportanceSummary,
    LayerPartition,
    MatrixPartition,
    ModelInfo,
    PartitionFile,
)

__all__ = [
    "SCHEMA_VERSION",
    "ImportanceSummary",
    "LayerPartition",
    "MatrixPartition",
    "ModelInfo",
    "PartitionFile",
]
