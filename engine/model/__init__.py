"""The device model: kinds, load curves, behaviours, meters, readings. Pure and deterministic."""
