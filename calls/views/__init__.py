"""The calls pages, one module per page family."""
