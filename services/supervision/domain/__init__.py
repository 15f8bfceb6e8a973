"""The supervision domain: pure rules, state and decisions (no clock, no ids, no I/O)."""
