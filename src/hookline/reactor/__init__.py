"""Event → command rules: the loop from one provider's webhook to another provider's API."""
