"""Shared foundation of the Guanyinli platform: config, database, contracts, errors, time."""
