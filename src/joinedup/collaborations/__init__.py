"""Collaborations between partners and the charters that say what they will do together."""
