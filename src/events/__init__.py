"""The published event contract: the envelope, the published event types and their JSON Schemas."""
