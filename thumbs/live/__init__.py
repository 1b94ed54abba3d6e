"""The live install's interactive side: the live loop and its sinks, collect, overlay, window, smoothing."""
