# eventlet must patch the standard library before anything imports socket or threading,
# or nameko's integration tests hang.
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402

# The tests run as the local run does: weak example secrets are accepted (guanyinli.config).
os.environ.setdefault("GUANYINLI_ENV", "local")

pytest_plugins = ["guanyinli.testing"]
