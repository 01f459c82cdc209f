"""The async and I/O edge of the engine: clocks, sinks, reports. The core never imports it."""
