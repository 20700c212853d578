"""Hookline: signed webhook fan-out and live feed for reseller networks."""

__version__ = "0.1.0"
