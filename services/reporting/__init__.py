"""Reporting service: citywide projections, reports, exports and a dashboard (issue #5)."""
