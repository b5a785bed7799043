"""hwcomponents discovery entry for hyflex: exposes the HyFlexPIM component models."""
from hyflex_plugin.costmodels.models import *  # noqa: F401,F403
from hyflex_plugin.costmodels.models import __all__  # noqa: F401
