"""Pure reporting logic: folding facts into a city state, periods, targets and reports."""
