"""``AMQP_URI`` with the nodes of a cluster (``guanyinli.config.broker_uris``)."""

from __future__ import annotations

import pytest
from kombu import Connection

from guanyinli.config import broker_uris, join_broker_uris

A = "pyamqp://gy:secret@10.0.0.1:5672/guanyinli"
B = "pyamqp://gy:secret@10.0.0.2:5672/guanyinli"
C = "pyamqp://gy:secret@10.0.0.3:5672/guanyinli"


def test_one_broker_is_a_list_of_one():
    assert broker_uris(A) == [A]


def test_the_nodes_of_a_cluster_in_their_order_blanks_ignored():
    assert broker_uris(f" {A} ;{B};\n{C};") == [A, B, C]


def test_no_broker_at_all_is_refused():
    with pytest.raises(ValueError):
        broker_uris(" ; ")


def test_join_is_the_inverse_of_split():
    assert join_broker_uris([A, B, C]) == f"{A};{B};{C}"
    assert broker_uris(join_broker_uris([A, B, C])) == [A, B, C]


@pytest.mark.parametrize("uris", [[], [A, ""], [f"{A};{B}"]])
def test_join_refuses_an_empty_or_already_joined_uri(uris):
    with pytest.raises(ValueError):
        join_broker_uris(uris)


def test_kombu_takes_the_same_string_as_its_failover_list():
    """nameko hands AMQP_URI to kombu unchanged: the first node is tried first, the others in turn."""
    conn = Connection(join_broker_uris([A, B, C]))
    assert (conn.hostname, conn.port, conn.virtual_host, conn.userid) == ("10.0.0.1", 5672, "guanyinli", "gy")
    assert conn.alt == [A, B, C]
    conn.maybe_switch_next()
    assert conn.hostname == "10.0.0.2"
