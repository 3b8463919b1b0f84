"""Scripted scenarios that drive the running loop and show each step as it happens."""
