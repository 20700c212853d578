"""Resellers: the tenants, created by the operator through the admin API."""
