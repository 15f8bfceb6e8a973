"""Supervision service: credit files (诚信档案), violations, penalties and credit lists."""
