"""vigil: the composition root. Settings, the CLI, app and worker assembly, local services, demo and canaries.

Nothing domain-specific lives here: each capability is a package of its own (`edgeauth`, `siem`, `detections`,
`evidence`, `compliance`) and `vigil` wires them together from one `VigilSettings`.
"""

from vigil.errors import VigilError
from vigil.settings import VigilSettings, load_settings

__all__ = ["VigilError", "VigilSettings", "load_settings"]
