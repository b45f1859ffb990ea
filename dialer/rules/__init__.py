"""Pure rules: no database, socket or HTTP code; plain functions and small classes."""
