"""One survey engine for the readiness diagnostic and the citizen-voice survey.

The engine never imports the web layer: pages call into it, never the other way round.
"""
