"""The canaries, one per SLA tier: `vigil canary run`, also run by beat per tier. Definitions are in `tiers`, the
probes and their reporting in `runner`, burn-rate alerts in `burn`.

Only the settings are imported here: `vigil.settings` needs them, and the runner needs `vigil.settings`.
"""

from vigil.canary.settings import CanarySettings

__all__ = ["CanarySettings"]
