"""Everything that talks to Kafka: producer, publisher, topics, embedded broker."""
