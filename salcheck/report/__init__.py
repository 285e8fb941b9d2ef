"""Stage 6: reports rendered from the store (tables with pandas, figures with matplotlib)."""

from salcheck.report.tier_page import ReportError, render_report

__all__ = ["ReportError", "render_report"]
