"""Outbound HTTP: the target policy, the guarded resolver, TLS and the delivery session."""
