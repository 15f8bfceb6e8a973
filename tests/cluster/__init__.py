"""A three-broker Kafka cluster and every service twice (issue 14)."""
