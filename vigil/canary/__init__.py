"""The availability canary: `vigil canary`, also run by beat. The probes and their reporting are in `runner`.

Only the settings are imported here: `vigil.settings` needs them, and the runner needs `vigil.settings`.
"""

from vigil.canary.settings import CanarySettings

__all__ = ["CanarySettings"]
