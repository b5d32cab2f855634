"""Places, their partners and services, and the people who use joinedup in them."""
