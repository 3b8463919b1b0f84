"""Everything that talks to Kafka: producer, publisher, topics, embedded broker."""

from hookline.bus.admin import create_topics, list_topics
from hookline.bus.broker import BrokerError, EmbeddedBroker, free_port
from hookline.bus.publisher import Publisher
from hookline.bus.topics import Topics, all_topics

__all__ = [
    "BrokerError",
    "EmbeddedBroker",
    "Publisher",
    "Topics",
    "all_topics",
    "create_topics",
    "free_port",
    "list_topics",
]
