"""The contract building blocks: datetimes on the wire, phone numbers, the contract decorator."""

from datetime import datetime

import pytest
from marshmallow import fields

from guanyinli.errors import InternalError, InvalidInput, format_validation
from guanyinli.events import make_payload, read
from guanyinli.schemas import LocalDateTime, Phone, StrictSchema, contract, load
from guanyinli.timeutil import TZ


class Window(StrictSchema):
    start = LocalDateTime(required=True)
    phone = Phone(load_default=None)
    limit = fields.Integer(load_default=10)


def test_naive_datetime_is_read_as_shanghai_time():
    assert load(Window, {"start": "2026-12-05T19:00:00"})["start"] == datetime(2026, 12, 5, 19, tzinfo=TZ)


def test_aware_datetime_is_converted_and_dumped_with_offset():
    loaded = load(Window, {"start": "2026-12-05T11:00:00+00:00"})
    assert Window().dump(loaded)["start"] == "2026-12-05T19:00:00+08:00"


@pytest.mark.parametrize("phone", ["13812345678", "+86 13812345678", "025-86612345"])
def test_phone_numbers_accepted(phone):
    assert load(Window, {"start": "2026-12-05T19:00", "phone": phone})["phone"]


@pytest.mark.parametrize("phone", ["12345", "138123456789", "phone"])
def test_bad_phone_names_the_field(phone):
    with pytest.raises(InvalidInput, match="phone: not a phone number"):
        load(Window, {"start": "2026-12-05T19:00", "phone": phone})


def test_unknown_field_is_an_error():
    with pytest.raises(InvalidInput, match="colour: Unknown field"):
        load(Window, {"start": "2026-12-05T19:00", "colour": "red"})


def test_nested_messages_are_flattened():
    assert format_validation({"a": {"0": {"b": ["bad."]}}}) == "a.0.b: bad."


class Service:
    @contract(request=Window, response=Window())
    def echo(self, start, phone=None, limit=None):
        return {"start": start, "phone": phone, "limit": limit}

    @contract()
    def broken(self):
        return {}["missing"]


def test_contract_loads_arguments_and_dumps_result():
    assert Service().echo("2026-12-05T19:00") == {"start": "2026-12-05T19:00:00+08:00", "phone": None, "limit": 10}


def test_contract_rejects_wrong_arguments_with_typed_error():
    with pytest.raises(InvalidInput, match="start"):
        Service().echo(start="yesterday")
    with pytest.raises(InvalidInput, match="echo"):
        Service().echo("2026-12-05T19:00", "x", 1, 2)


def test_contract_turns_unexpected_errors_into_internal_error():
    with pytest.raises(InternalError, match="broken failed: KeyError"):
        Service().broken()


def test_event_round_trip_keeps_aware_times():
    wire = make_payload("availability_changed", {"volunteer_id": 3})
    assert isinstance(wire["occurred_at"], str) and wire["occurred_at"].endswith("+08:00")
    assert read("availability_changed", wire)["occurred_at"].tzinfo is not None


def test_unknown_subclass_of_a_platform_error_arrives_as_its_base():
    import nameko.rpc

    from guanyinli.errors import NotFound

    class GridNotFound(NotFound):  # not registered: the caller has never imported it
        pass

    data = nameko.rpc.serialize(GridNotFound("grid_id: no grid 99"))
    assert data["exc_path"].endswith("GridNotFound")
    error = nameko.rpc.deserialize(data)
    assert type(error) is NotFound and str(error) == "grid_id: no grid 99"


def test_foreign_exceptions_stay_remote_errors():
    import nameko.rpc
    from nameko.exceptions import RemoteError

    assert isinstance(nameko.rpc.deserialize(nameko.rpc.serialize(KeyError("x"))), RemoteError)


def test_an_error_keeps_its_chinese_words_over_the_wire():
    import json

    import nameko.rpc

    from guanyinli.errors import Conflict, InvalidInput

    class SeatTaken(Conflict):  # a class the caller does not know: it falls back on Conflict, words and all
        pass

    for sent in (InvalidInput("day_a: no shift", "当天没有班次"), SeatTaken("seat taken", "座位已被占用")):
        got = nameko.rpc.deserialize(json.loads(json.dumps(nameko.rpc.serialize(sent))))
        assert isinstance(got, Conflict if isinstance(sent, SeatTaken) else InvalidInput)
        assert (str(got), got.message_zh) == (str(sent), sent.message_zh)
    plain = nameko.rpc.deserialize(nameko.rpc.serialize(InvalidInput("phone: not a phone number")))
    assert str(plain) == "phone: not a phone number" and plain.message_zh is None and plain.args == (str(plain),)
