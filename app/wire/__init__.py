"""Exactly what goes over the wire: canonical JSON, the envelope, signatures."""
