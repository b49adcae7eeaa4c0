"""Runs the notifications service in a process of its own (for the kill -9 test):

python run_notifications.py CONFIG.json
"""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from notifications.service import NotificationsService  # noqa: E402

if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        config = json.load(f)
    runner = ServiceRunner(config)
    runner.add_service(NotificationsService)
    runner.start()
    print("started", flush=True)
    runner.wait()
