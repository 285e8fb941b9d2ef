"""The sub-commands of the ``salcheck`` command line, one module per group, each holding its
commands' parsers and handlers (:mod:`salcheck.cli` wires them into one parser):

- :mod:`~salcheck.commands.generate`: ``generate``;
- :mod:`~salcheck.commands.grid`: ``run``, ``report``, ``verdicts``;
- :mod:`~salcheck.commands.studies`: ``benchmark``, ``networks``, ``protocol``, ``dose``;
- :mod:`~salcheck.commands.checks`: ``check``, ``baseline``;
- :mod:`~salcheck.commands.store`: ``status``, ``store``, ``zoo``;
- :mod:`~salcheck.commands.shared`: what they share (the store, the tier, running a plan).
"""
