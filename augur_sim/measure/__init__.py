"""Measuring a machine: microbenchmarks, the fit, validation against a runtime, export to ONNX."""


def relative_error(predicted: float, measured: float) -> float:
    """predicted / measured - 1, as a fraction (+0.10 = predicted 10% high); a measured 0
    counts as 1 so an empty measurement gives a large error, not a division by zero."""
    return predicted / max(measured, 1) - 1.0


class AllocatorErrors:
    """The allocator's two figures, predicted against measured, for the frozen dataclasses
    that carry them (the GPU memory check's rows, `validate --processor gpu`'s result)."""
    predicted_allocated_bytes: int
    measured_allocated_bytes: int
    predicted_reserved_bytes: int
    measured_reserved_bytes: int

    @property
    def allocated_error(self) -> float:
        return relative_error(self.predicted_allocated_bytes, self.measured_allocated_bytes)

    @property
    def reserved_error(self) -> float:
        return relative_error(self.predicted_reserved_bytes, self.measured_reserved_bytes)
