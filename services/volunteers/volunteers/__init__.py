"""The volunteers service of the Guanyinli platform: teams, grids, volunteers, availability, hours and points."""
