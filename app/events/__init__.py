"""Events: the catalogue of types, ingest, and the event history."""
