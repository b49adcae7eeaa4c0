from alembic import context

from guanyinli.migrate import run_env
from notifications.models import Base

run_env(context, Base.metadata, "notifications")
