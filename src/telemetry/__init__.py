"""Telemetry: OpenTelemetry traces across the processes, off (and never imported) by default."""
