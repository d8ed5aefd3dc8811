"""Cost engine: lowered kernels x hardware rows, in numba."""
