"""Architecture specs: design parameters (``arch_specs/*.yaml``) and their AccelForge templates."""

from hyflex_plugin.architecture.design import (
    ARCH_DIR,
    DEFAULT_ARCH,
    HyflexDesign,
    load_arch,
)
from hyflex_plugin.architecture.spec import accelforge_spec

__all__ = ["ARCH_DIR", "DEFAULT_ARCH", "HyflexDesign", "accelforge_spec", "load_arch"]
