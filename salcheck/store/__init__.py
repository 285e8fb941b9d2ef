"""The store and its keys: what determines each result (``keys``, ``tiers``), the stored
records (``records``), the crash-safe files (``files``), bundles, provenance, and the one
read-only view of results (``view``)."""

from salcheck.store.files import KINDS, STORE_FORMAT_VERSION, Store, checksum, default_store

__all__ = ["KINDS", "STORE_FORMAT_VERSION", "Store", "checksum", "default_store"]
