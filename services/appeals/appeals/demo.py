"""Demo data of the appeals service: the two-way service list (``appeals.partners_demo``).

python -m appeals.demo [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.orm import Session

from appeals.partners_demo import partner_demo
from guanyinli.timeutil import now


def main(argv: list[str] | None = None) -> int:
    from guanyinli.config import database_url
    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    url = args.database_url or database_url("appeals")
    upgrade("appeals", url)
    engine = make_engine(url)
    at = now()
    with Session(engine, expire_on_commit=False) as session, session.begin():
        created, proposed = partner_demo(session, at.date(), at)
    engine.dispose()
    print(f"appeals demo: {created} partners of the two-way list created, {proposed} matches proposed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
