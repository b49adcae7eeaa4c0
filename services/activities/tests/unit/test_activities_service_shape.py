"""The service class: mixins add entrypoints, identity is checked before any resource is touched."""

import pytest
from nameko.cli.run import import_service
from nameko.containers import ServiceContainer
from nameko.rpc import rpc
from nameko.testing.services import worker_factory

from activities.dependencies import CallerIdentity
from activities.domain import Caller
from activities.service import ActivitiesService
from guanyinli.errors import Forbidden


class PingMixin:
    @rpc
    def ping(self):
        return self.caller.volunteer_id


def test_a_mixin_joins_the_service_with_its_entrypoints_and_the_core_dependencies():
    class Extended(PingMixin, ActivitiesService):
        pass

    container = ServiceContainer(Extended, {"AMQP_URI": "memory://"})
    methods = {e.method_name for e in container.entrypoints}
    assert {"ping", "sign_up", "list_occurrences", "health"} <= methods
    assert {d.attr_name for d in container.dependencies} >= {"db", "dispatch", "caller", "volunteers"}
    assert any(isinstance(d, CallerIdentity) for d in container.dependencies)


def test_organiser_calls_are_refused_before_the_database_is_touched():
    service = worker_factory(ActivitiesService, caller=Caller(volunteer_id=5, roles=frozenset({"volunteer"})))
    with pytest.raises(Forbidden):
        service.create_activity(
            title="清扫", kind="sanitation", courtyard="一号院", start="2026-12-05T08:00", duration_minutes=60
        )
    with pytest.raises(Forbidden):
        service.sign_up(occurrence_id=1, volunteer_id=6)
    assert not service.db.get_session.called


def test_nameko_run_finds_exactly_one_service_in_the_module():
    assert import_service("activities.service") == [ActivitiesService]
