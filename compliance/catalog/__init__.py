"""The control catalog (SOC 2 TSC and ISO/IEC 27001:2022 Annex A ids) and its crosswalk, as data."""

from compliance.catalog.model import CATALOG_FILE, Catalog, CheckSpec, Control, load_catalog, parse_catalog

__all__ = ["CATALOG_FILE", "Catalog", "CheckSpec", "Control", "load_catalog", "parse_catalog"]
