"""Adapters: the ESL binding, the VC over HTTP, the database, the embedded servers."""
