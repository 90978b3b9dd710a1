"""Sending SMS and e-mail: the outbox and its channels (no Temporal here)."""
