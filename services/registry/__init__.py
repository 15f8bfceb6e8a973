"""Registry service: registration of social-work agencies (登记) and its status."""
