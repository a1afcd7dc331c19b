"""The league report: data read from the store (:mod:`~arena.report.data`), matplotlib
figures (:mod:`~arena.report.figures`), HTML and Markdown (:mod:`~arena.report.render`).
``arena report DB`` (:func:`arena.cli.commands.report_command`) prints where it went.
"""

from __future__ import annotations

from arena.report.data import (
    GapPoint,
    RatingPoint,
    ReportData,
    load_report_data,
    with_analysis,
    with_population,
)
from arena.report.render import write_report

__all__ = [
    "GapPoint",
    "RatingPoint",
    "ReportData",
    "load_report_data",
    "with_analysis",
    "with_population",
    "write_report",
]
