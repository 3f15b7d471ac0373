"""The `glow` command: every subcommand, progress bars and the development cluster."""
