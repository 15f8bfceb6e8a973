"""The incubation service: bases, calls, admissions, agreements, support and exits."""
