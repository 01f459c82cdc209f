"""The `iot-mock` program: the composition root that wires the engine, its runtime and the API together.

Nothing imports this package; it imports every layer (`engine.model` < `engine.scenario` <
`engine.simulation` < `engine.runtime` < `api`) and turns their errors into exit codes.
"""
