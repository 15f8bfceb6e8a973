"""The mechanism every service shares: event store, relay, consumers, auth, HTTP, settings."""
