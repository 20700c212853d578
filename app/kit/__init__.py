"""Shared, domain-free helpers: one of each."""
