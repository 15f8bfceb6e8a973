"""Pure registry domain: rules, state, decide and evolve (no I/O, no clock)."""
