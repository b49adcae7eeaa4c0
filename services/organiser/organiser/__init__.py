"""Tools for organisers: the `guanyinli` command line and the organiser web page (nameko service `organiser`)."""

import warnings

# The command line imports nameko, which imports eventlet, which warns on every run.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
# eventlet imports dnspython, whose DSA support the cryptography library warns about, sixteen lines a run.
warnings.filterwarnings("ignore", message=r"DSA is deprecated")
