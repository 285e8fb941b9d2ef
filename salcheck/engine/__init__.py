"""The engine: the one computing entry (``plan``: a :class:`~salcheck.engine.plan.Plan` and
``execute``), the stages wired into stored results (``train``: models; ``evaluate``: one scoring
function per evaluation part), and the workers that carry out a plan (``runner``, ``orphans``)."""
