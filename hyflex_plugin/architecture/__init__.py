"""Architecture specs: design parameters (``arch_specs/*.yaml``) and their AccelForge templates."""

from hyflex_plugin.architecture.design import ARCH_DIR, DEFAULT_ARCH, HyflexDesign, load_arch

__all__ = ["ARCH_DIR", "DEFAULT_ARCH", "HyflexDesign", "load_arch"]
