"""Services around the domain: schema migrations and, later, the composition of the application."""
