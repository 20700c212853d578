"""Deliveries: the delivery log, attempt detail and manual retry."""
