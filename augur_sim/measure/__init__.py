"""Measuring a machine: microbenchmarks, the fit, validation against a runtime, export to ONNX."""
