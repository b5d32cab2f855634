"""The state of collaboration of a place and its board pack (issue 11)."""
