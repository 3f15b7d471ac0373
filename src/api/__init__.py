"""The HTTP API only: routes, request models, access rules, problem+json and OpenAPI."""
