"""A place's state of collaboration as a published package, and places compared from
packages alone (engine: no web imports)."""
