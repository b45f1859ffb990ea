"""Operator commands: `dialer ...` and the fleet launcher."""
