"""Exploring a design space: what-if studies, sweeps, generated networks, plots."""
