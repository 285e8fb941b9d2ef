"""The science: the study's findings as data, the decision rule, and recorded verdicts."""
