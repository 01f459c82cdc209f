"""Scenario files: the versioned format, the safe loader and the named catalogue."""
