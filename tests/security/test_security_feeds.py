"""Attacks on the iCal feeds of activities over real HTTP: guessed and forged personal tokens,
links that were rotated, revoked or made under an earlier FEED_SECRET, a token in any log line,
and elderly visits in a public feed."""

from __future__ import annotations

import base64
import logging
import secrets

import pytest
from activities_testkit import ELDERLY_VISIT, at, iso
from test_feeds_secrets import BASE_URL, SECRET_A, SECRET_B, get, rpc

from activities.feeds import derive_token
from guanyinli.events import KINDS, TEAMS
from volunteers.structure import grid_ids

pytestmark = [pytest.mark.integration, pytest.mark.security]

ROW_ID_CHARS = 11  # base64url of the 8-byte row id ends inside the 11th character; the MAC follows


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".ics")


def personal(token: str) -> str:
    return f"/feeds/volunteers/{token}.ics"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def split(token: str) -> tuple[int, bytes]:
    """(row id, MAC) of a token of the current form."""
    raw = base64.urlsafe_b64decode(token + "==")
    return int.from_bytes(raw[:8], "big"), raw[8:]


def one_changed(token: str, position: int) -> str:
    swap = "B" if token[position] == "A" else "A"
    return token[:position] + swap + token[position + 1 :]


@pytest.fixture
def every_log_line(caplog, capfd):
    """``lines()``: every log record of the test so far at DEBUG, whatever the logger (formatted, with
    tracebacks), and everything written to the process's stdout and stderr, where the services run."""
    # urllib3 is the test's own HTTP client: its request lines are the attacker's, not the service's
    # (set_level sets caplog's handler to the level too: DEBUG last)
    caplog.set_level(logging.WARNING, logger="urllib3")
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and not name.startswith("urllib3"):
            caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    quiet = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in quiet:  # they would not reach caplog's handler on the root
        logger.addHandler(caplog.handler)
    written: list[str] = []

    def lines() -> list[str]:
        out, err = capfd.readouterr()
        written.extend((out + err).splitlines())
        return [caplog.handler.format(r) for r in caplog.records if not r.name.startswith("urllib3")] + written

    yield lines
    for logger in quiet:
        logger.removeHandler(caplog.handler)


def no_token_logged(lines: list[str], tokens: set[str], attacks) -> None:
    """Every token, and the MAC part of every token (a token cut short still names a MAC), in no line."""
    assert lines, "no log line was captured"
    for token in sorted(tokens):
        found = [line for line in lines if token in line or token[ROW_ID_CHARS + 2 :] in line]
        attacks("feed token in a log line", not found)
        assert not found, found[:3]


def test_guessed_and_forged_feed_tokens_open_nothing(start, web_session, attacks, every_log_line):
    _, config = start(SECRET_A)
    with rpc(config) as organiser:
        links = {v: organiser.issue_feed_token(volunteer_id=v)["personal"]["https"] for v in (1, 2, 3)}
    tokens = {v: token_of(url) for v, url in links.items()}
    assert all(get(web_session, url).status_code == 200 for url in links.values())
    rows = {v: split(t)[0] for v, t in tokens.items()}
    macs = {v: split(t)[1] for v, t in tokens.items()}

    guesses: dict[str, list[str]] = {
        # random strings of the right shape: 54 characters, and the 43 of the older MAC-only links
        "guessed feed token": [secrets.token_urlsafe(40) for _ in range(20)]
        + [secrets.token_urlsafe(32) for _ in range(5)],
        # a real row's id, a random MAC
        "feed token of a real row with a guessed MAC": [
            b64(row.to_bytes(8, "big") + secrets.token_bytes(32)) for row in rows.values() for _ in range(5)
        ],
        # a valid token with one character changed, at every position
        "feed token with one character changed": [one_changed(tokens[1], i) for i in range(len(tokens[1]))],
        # another volunteer's row with this one's MAC, and the MAC of this row for the other volunteer
        "another volunteer's feed row with a token's MAC": [
            b64(rows[b].to_bytes(8, "big") + macs[a]) for a in rows for b in rows if a != b
        ]
        + [derive_token(SECRET_A, rows[1], 2), derive_token(SECRET_A, rows[2], 1)],
        "feed token under a guessed secret": [derive_token("change-me-feed-secret", rows[1], 1)],
        "feed token with its MAC alone": [b64(macs[1]), tokens[1][ROW_ID_CHARS:]],
        "feed token with a path or query": [
            tokens[1] + "/..",
            "..%2F" + tokens[1],
            tokens[1] + "%00",
            tokens[1].upper(),
            tokens[1] + "=",
        ],
    }
    assert not set(guesses["feed token with one character changed"]) & set(tokens.values())
    for attack, tried in guesses.items():
        for token in tried:
            answer = web_session.get(personal(token))
            refused = answer.status_code == 404 and b"BEGIN:VCALENDAR" not in answer.content
            attacks(attack, refused)
            assert refused, (attack, token, answer.status_code)
        head = web_session.head(personal(tried[0]))
        assert head.status_code == 404
    assert [get(web_session, links[v]).status_code for v in (1, 2, 3)] == [200, 200, 200]
    no_token_logged(every_log_line(), set(tokens.values()), attacks)


def test_rotated_revoked_and_old_secret_links_open_nothing(start, web_session, attacks, every_log_line):
    container, config = start(SECRET_A)
    with rpc(config) as organiser:
        first = {v: organiser.issue_feed_token(volunteer_id=v)["personal"]["https"] for v in (1, 2)}
    with rpc(config, {"volunteer_id": 1, "roles": ["volunteer"]}) as volunteer:
        rotated = volunteer.rotate_feed_token(volunteer_id=1)["personal"]["https"]
    assert rotated != first[1]
    old = get(web_session, first[1])
    attacks("feed link after it was rotated", old.status_code == 404)
    assert old.status_code == 404
    assert get(web_session, rotated).status_code == 200
    assert get(web_session, first[2]).status_code == 200  # another volunteer's link is untouched

    with rpc(config) as organiser:
        assert organiser.revoke_feed_token(volunteer_id=2) == {"volunteer_id": 2, "revoked": 1}
    revoked = get(web_session, first[2])
    attacks("feed link after it was revoked", revoked.status_code == 404)
    assert revoked.status_code == 404

    with rpc(config) as organiser:
        before = {v: organiser.issue_feed_token(volunteer_id=v)["personal"]["https"] for v in (1, 2, 3)}
    assert all(get(web_session, url).status_code == 200 for url in before.values())
    container.stop()

    _, config = start(SECRET_B)  # a new FEED_SECRET revokes every link made under the old one
    for url in [*before.values(), *first.values(), rotated]:
        answer = get(web_session, url)
        attacks("feed link made under an earlier FEED_SECRET", answer.status_code == 404)
        assert answer.status_code == 404, url
    with rpc(config) as organiser:
        after = {v: organiser.feed_urls(volunteer_id=v)["personal"]["https"] for v in (1, 2, 3)}
    assert set(after.values()).isdisjoint(before.values())
    assert [get(web_session, url).status_code for url in after.values()] == [200, 200, 200]
    tokens = {token_of(u) for u in [*first.values(), rotated, *before.values(), *after.values()]}
    no_token_logged(every_log_line(), tokens, attacks)


def test_elderly_visits_are_in_no_public_feed(start, web_session, attacks, every_log_line):
    _, config = start(SECRET_A)
    private = [ELDERLY_VISIT["visited_person"], ELDERLY_VISIT["private_address"], "糖尿病", "需提醒服药"]
    visit_words = [ELDERLY_VISIT["title"], ELDERLY_VISIT["courtyard"], "上门探访"]  # "home visit": the neutral title
    with rpc(config) as organiser:
        # in the convenience team too, so that the team's feed would show it if visits were not left out
        visit = organiser.create_activity(**ELDERLY_VISIT, team="convenient_service", start=iso(at(2, 9)))
        # even when the organiser lets personal feeds show the details
        organiser.update_activity(activity_id=visit["id"], changes={"feed_shows_details": True})
        organiser.create_activity(
            title="便民服务站值班", kind="convenience", team="convenient_service", grid_id=9, room="服务站",
            start=iso(at(2, 14)), duration_minutes=120,
        )  # fmt: skip
        links = organiser.feed_urls(volunteer_id=1)["public"]
        token = token_of(organiser.issue_feed_token(volunteer_id=1)["personal"]["https"])
    paths = {link["https"][len(BASE_URL) :] for link in links}
    # every public feed there is, whether feed_urls lists it or not
    paths |= {f"/feeds/teams/{t}.ics" for t in TEAMS} | {f"/feeds/grids/{g}.ics" for g in grid_ids()}
    paths |= {f"/feeds/kinds/{k}.ics" for k in KINDS} | {"/feeds/lectures.ics"}
    shown = 0
    for path in sorted(paths):
        answer = web_session.get(path)
        body = answer.content.decode("utf-8", "replace").replace("\r\n ", "")  # unfolded
        leaked = [w for w in private + visit_words if w in body]
        attacks("elderly visit in a public feed", not leaked)
        assert not leaked, (path, leaked)
        if path == "/feeds/kinds/elderly_visit.ics":
            assert answer.status_code == 404
        else:
            assert answer.status_code == 200, path
            shown += "便民服务站值班" in body
    assert shown == 3  # the convenience duty is in its team, grid and kind feeds: the feeds were not empty
    no_token_logged(every_log_line(), {token}, attacks)
