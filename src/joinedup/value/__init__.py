"""The public value account (issue 10): engine only, no web imports."""
