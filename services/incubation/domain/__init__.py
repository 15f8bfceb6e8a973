"""The pure incubation domain: commands, state, decisions and rules (no I/O)."""
