"""The support desk's pages for the portal app (Django discovers `portal.admin`)."""

from portal.admin import operations, people

__all__ = ["operations", "people"]
