"""The science: the study's findings as data (``findings``), the decision rule (``stats``),
recorded verdicts and the gate (``verdicts``), the ranking of methods against the null maps
(``ranking``) and the statistics it runs on (``ranking_stats``), the dose-response curves and
their crossovers (``dose_crossover``) and the dose-response tests (``dose``)."""
