"""The science: the study's findings as data (``findings``), the decision rule (``stats``),
recorded verdicts and the gate (``verdicts``), the ranking of methods against the null maps
(``ranking``) and dose-response statistics (``dose``)."""
