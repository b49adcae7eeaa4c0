"""The organiser package lives in services/organiser, which the shared pytest path does not list yet."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE.parent, HERE / "integration"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
