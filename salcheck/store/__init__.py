"""The store and its keys: what determines each result (``keys``, ``tiers``), the stored
records (``records``) and their JSON schema (``schema``), the crash-safe files (``files``),
bundles (``bundle``), and the one read-only view of results (``view``)."""

from salcheck.store.files import KINDS, STORE_FORMAT_VERSION, Store, checksum, default_store

__all__ = ["KINDS", "STORE_FORMAT_VERSION", "Store", "checksum", "default_store"]
