"""The batch recommender: reads the event log, trains a LightFM hybrid, applies dermatological
rules, publishes top-N per customer to Redis."""
