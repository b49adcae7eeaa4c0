"""Tools for organisers: the `guanyinli` command line and the organiser web page (nameko service `organiser`)."""
