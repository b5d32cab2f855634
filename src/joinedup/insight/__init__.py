"""Joined-up insight: ingest partner extracts, link them into persons, and report on them.

The engine is a library first: ``ingest`` → ``link`` → ``persons`` → ``cohorts``,
``overlaps``, ``demand`` and ``network``, with ``disclosure`` applied to every aggregate
that leaves the analyst role. It never imports the web layer.
"""
