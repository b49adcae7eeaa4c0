from alembic import context

from guanyinli.migrate import run_env
from organiser.models import Base

run_env(context, Base.metadata, "organiser")
