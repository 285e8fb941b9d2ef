"""Stage 6: reports rendered from the store (tables with pandas, figures with matplotlib)."""

from .markdown import ReportError, render_report

__all__ = ["ReportError", "render_report"]
