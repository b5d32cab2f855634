"""Public value accounts (issue 10)."""
