"""The appeals service of the Guanyinli platform: residents' appeals taken in, routed to the grid, seen through."""
