"""Fixtures of the platform-wide tests (here and in tests/security)."""

from tests.broker_testkit import accounts  # noqa: F401 (a fixture: every broker role's account on the test's vhost)
