# eventlet must patch the standard library before anything imports socket or threading,
# or nameko's integration tests hang.
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

pytest_plugins = ["guanyinli.testing"]
