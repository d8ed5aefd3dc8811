"""Measuring a machine: microbenchmarks, the fit, validation against a runtime, export to ONNX."""


def relative_error(predicted: float, measured: float) -> float:
    """predicted / measured - 1, as a fraction (+0.10 = predicted 10% high); a measured 0
    counts as 1 so an empty measurement gives a large error, not a division by zero."""
    return predicted / max(measured, 1) - 1.0
