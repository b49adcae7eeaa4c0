"""`guanyinli appeals`: residents' appeals: the list, one with its trail, intake, reassigning and closing."""

from __future__ import annotations

import click

from organiser.appeal_words import CATEGORIES, STATUSES, URGENCIES
from organiser.cli import emit, json_option, make_table, state


@click.group()
def appeals():
    """Residents' appeals: list, show, receive, reassign, close."""


def _place(a: dict) -> str:
    return " ".join(str(x) for x in (f"grid {a['grid_id']}", a.get("courtyard"), a.get("building")) if x)


def _when(value: str | None) -> str:
    return (value or "")[:16].replace("T", " ")


def _summary(a: dict) -> str:
    handler = f"volunteer {a['handler_id']}" if a.get("handler_id") else "nobody (unrouted)"
    return f"appeal {a['id']}: {a['category']}, {_place(a)}, {a['status']}, handler {handler}"


@appeals.command("list")
@click.option("--grid", type=int, help="grid id")
@click.option("--status", type=click.Choice(("open", *STATUSES)), help="one status, or open (all but closed)")
@click.option("--handler", type=int, help="the handler's volunteer id")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@json_option
def appeals_list(grid, status, handler, limit):
    """Appeals newest first; the resident's contact only for organisers."""
    found = state().rpc().appeals.list_appeals(grid_id=grid, status=status, handler_id=handler, limit=limit)
    emit(
        found,
        lambda rows: make_table(
            f"{len(rows)} appeals",
            ["id", "category", "place", "urgency", "status", "handler", "received", "close by"],
            [
                [
                    a["id"],
                    a["category"],
                    _place(a),
                    a["urgency"],
                    a["status"],
                    a.get("handler_id") or "-",
                    _when(a.get("received_at")),
                    _when(a.get("close_by")),
                ]
                for a in rows
            ],
        ),
    )


@appeals.command("show")
@click.argument("appeal_id", type=int)
@json_option
def appeals_show(appeal_id):
    """One appeal with its trail."""

    def table(a):
        rows = [
            ["category", a["category"]],
            ["place", _place(a)],
            ["urgency", a["urgency"]],
            ["status", a["status"]],
            ["handler", a.get("handler_id") or "-"],
            ["received", _when(a.get("received_at"))],
        ]
        rows += [[k.replace("_", " "), _when(a.get(k))] for k in ("acknowledge_by", "visit_by", "close_by") if a.get(k)]
        rows += [
            [label, a.get(k)]
            for label, k in (
                ("resident", "resident_name"),
                ("phone", "resident_phone"),
                ("address", "resident_address"),
                ("description", "description"),
                ("outcome", "outcome"),
                ("reply", "resident_reply"),
                ("satisfaction", "satisfaction"),
                ("hours", "hours"),
            )
            if a.get(k) is not None
        ]
        rows += [
            [_when(n["at"]), f"{n['kind']} {n.get('volunteer_id') or ''} {n.get('text') or ''}"] for n in a["notes"]
        ]
        return make_table(f"Appeal {a['id']}", ["", ""], rows)

    emit(state().rpc().appeals.get_appeal(appeal_id=appeal_id), table)


@appeals.command("receive")
@click.option("--category", type=click.Choice(CATEGORIES), required=True)
@click.option("--grid", "grid_id", type=int, required=True, help="grid id")
@click.option("--courtyard", help="courtyard code of the grid, e.g. C01")
@click.option("--building", help="e.g. 3号楼")
@click.option("--urgency", type=click.Choice(URGENCIES), default="normal", show_default=True)
@click.option("--description", required=True, help="what the resident asks (private)")
@click.option("--resident-name", required=True, help="private")
@click.option("--resident-phone", required=True, help="private")
@click.option("--resident-address", help="private")
@click.option("--request-id", help="idempotency key: the same key takes the appeal in once")
@json_option
def appeals_receive(**fields):
    """Take in a resident's appeal; it is routed at once to someone free now."""
    given = {k: v for k, v in fields.items() if v is not None}
    emit(state().rpc().appeals.receive_appeal(**given), _summary)


@appeals.command("reassign")
@click.argument("appeal_id", type=int)
@click.argument("volunteer_id", type=int)
@click.option("--reason", help="why (kept in the trail)")
@json_option
def appeals_reassign(appeal_id, volunteer_id, reason):
    """Give an open appeal to a volunteer of its grid, or of the team its category needs."""
    emit(
        state().rpc().appeals.reassign_appeal(appeal_id=appeal_id, volunteer_id=volunteer_id, reason=reason),
        _summary,
    )


@appeals.command("close")
@click.argument("appeal_id", type=int)
@click.option("--outcome", required=True, help="what was done")
@click.option("--reply", "resident_reply", help="what the resident said")
@click.option("--satisfaction", type=click.IntRange(1, 5), help="the resident's, 1-5")
@click.option("--hours", type=click.FloatRange(0, 24), default=0.0, show_default=True, help="credited to the handler")
@json_option
def appeals_close(appeal_id, outcome, resident_reply, satisfaction, hours):
    """Close an open appeal on its handler's behalf; the hours go to the handler's ledger."""
    emit(
        state()
        .rpc()
        .appeals.close_appeal(
            appeal_id=appeal_id, outcome=outcome, resident_reply=resident_reply, satisfaction=satisfaction, hours=hours
        ),
        _summary,
    )
