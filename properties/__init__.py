"""The property suite: each finding of the reference study as a pytest property test.

Installed as ``salcheck.properties``: ``pytest --pyargs salcheck.properties --salcheck-method
MODULE:Class`` runs it outside a checkout; its recorded verdicts lie in ``verdicts/``.
"""
