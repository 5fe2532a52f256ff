"""The ingest role: fetch, parse and normalize source documents into Items."""
