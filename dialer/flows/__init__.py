"""Flows: the rules applied to the database and the switch, one step of the dialer each."""
