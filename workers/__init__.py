"""Long-running roles: scheduler, ingest, indexer, alerter, composer."""
