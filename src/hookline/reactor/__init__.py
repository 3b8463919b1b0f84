"""Event → command rules: the loop from one provider's webhook to another provider's API."""

from hookline.reactor.engine import Engine, Outcome
from hookline.reactor.rules import active_rules, rule_problems

__all__ = ["Engine", "Outcome", "active_rules", "rule_problems"]
