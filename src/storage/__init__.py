"""Event-store adapters: recorders, group append, log streaming, answers, migrations."""
