"""Audit: history, time travel, batch traces, a tamper-evident hash chain and exports."""
