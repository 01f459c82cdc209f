"""The device model: kinds, load curves, behaviours, devices, their stages and faults, readings. Pure."""
