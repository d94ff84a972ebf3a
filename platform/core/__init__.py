"""Shared kernel: money, errors, tenancy helpers and guards, the outbox, API helpers."""
