"""`ai-news bench`: each hot path against the raw library it builds on, on the same machine in the same run."""
