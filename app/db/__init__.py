"""Database machinery: declarative base, engine, request sessions, tenancy scoping."""
