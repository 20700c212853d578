"""Webhooks: endpoints, their secrets, and simulations."""
