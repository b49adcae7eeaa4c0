from alembic import context

from appeals.models import Base
from guanyinli.migrate import run_env

run_env(context, Base.metadata, "appeals")
