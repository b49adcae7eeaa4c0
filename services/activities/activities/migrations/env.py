from activities.models import Base
from alembic import context
from guanyinli.migrate import run_env

run_env(context, Base.metadata, "activities")
