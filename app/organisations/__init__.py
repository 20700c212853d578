"""Organisations: a reseller's child organisations, each with an ingest key."""
