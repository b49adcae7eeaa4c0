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

# Every test process, and the service processes the tests start, verify and sign identity tokens
# with one set of keys made for the run (guanyinli.identity).
import os  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

if not os.environ.get("IDENTITY_KEYS_DIR"):
    from guanyinli.identity import ensure_keys  # noqa: E402

    os.environ["IDENTITY_KEYS_DIR"] = str(ensure_keys(Path(tempfile.mkdtemp(prefix="guanyinli-keys-"))))
