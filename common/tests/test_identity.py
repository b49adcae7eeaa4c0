"""Identity tokens (guanyinli.identity): what makes a caller who they say, and what makes them anonymous."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guanyinli import identity
from guanyinli.identity import (
    ANYONE,
    ORGANISERS,
    READERS,
    Identity,
    Issuer,
    KeyRing,
    Revocations,
    TokenError,
    Verifier,
    allow,
    ensure_keys,
    load_signing_key,
    make_deployment_keys,
    may_grant,
    own,
    service_only,
)


@pytest.fixture
def keys(tmp_path):
    return ensure_keys(tmp_path / "keys")


def issuer(keys, name, at=None):
    found = Issuer(name, load_signing_key(keys / f"{name}.key"))
    if at is not None:
        found.clock = lambda: at
    return found


def verifier(keys, now=None):
    return Verifier(KeyRing(keys), Revocations(), clock=(lambda: now) if now else time.time)


def test_a_token_names_its_caller(keys):
    token = issuer(keys, "organiser").issue(
        "account:wangfang", ["organiser"], seconds=300, volunteer_id=12, grid_ids=[7], name="王芳"
    )
    caller = verifier(keys).identify(token)
    assert caller == Identity(
        subject="account:wangfang",
        roles=frozenset({"organiser"}),
        volunteer_id=12,
        grid_ids=frozenset({7}),
        name="王芳",
        issuer="organiser",
        token_id=caller.token_id,
        expires=caller.expires,
    )
    assert caller.is_organiser and caller.acts_for(99) and caller.leads(3)


def test_no_token_a_forged_an_expired_or_a_mangled_one_is_anonymous(keys):
    check = verifier(keys)
    good = issuer(keys, "tools").issue("account:x", ["organiser"], seconds=300)
    forged = Issuer("tools", Ed25519PrivateKey.generate()).issue("account:x", ["organiser"], seconds=300)
    expired = issuer(keys, "tools", at=time.time() - 3600).issue("account:x", ["organiser"], seconds=300)
    future = issuer(keys, "tools", at=time.time() + 3600).issue("account:x", ["organiser"], seconds=7200)
    unsigned = jwt.encode({"iss": "tools", "sub": "account:x", "roles": ["organiser"]}, None, algorithm="none")
    for token in (None, "", 42, {"roles": ["organiser"]}, forged, expired, future, unsigned, good[:-3] + "abc"):
        assert check.identify(token) == Identity(), token
    assert check.identify(good).is_organiser


def test_an_issuer_grants_only_what_it_may(keys):
    assert may_grant("organiser", "account:a", frozenset({"organiser"}))
    assert may_grant("activities", "service:activities", frozenset({"system"}))
    assert not may_grant("activities", "account:a", frozenset({"organiser"}))
    assert not may_grant("activities", "service:volunteers", frozenset({"system"}))
    assert not may_grant("organiser", "account:a", frozenset({"system"}))
    assert not may_grant("nobody", "account:a", frozenset({"volunteer"}))
    with pytest.raises(TokenError):
        issuer(keys, "activities").issue("account:a", ["organiser"], seconds=60)
    # a service's own key used by hand to claim a person's role is not believed either
    claims = {
        "iss": "activities",
        "sub": "account:a",
        "aud": identity.AUDIENCE,
        "roles": ["organiser"],
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        "jti": "x",
    }
    crafted = jwt.encode(claims, load_signing_key(keys / "activities.key"), algorithm=identity.ALGORITHM)
    assert verifier(keys).identify(crafted) == Identity()


def test_a_revoked_subject_is_anonymous_until_a_newer_token(keys):
    revocations = Revocations()
    check = Verifier(KeyRing(keys), revocations)
    old = issuer(keys, "organiser", at=time.time() - 10).issue("account:a", ["organiser"], seconds=600)
    assert check.identify(old).is_organiser
    revocations.revoke(subject="account:a", before=time.time() - 5)
    assert check.identify(old) == Identity()
    newer = issuer(keys, "organiser").issue("account:a", ["organiser"], seconds=600)
    assert check.identify(newer).is_organiser


def test_a_rotated_key_keeps_earlier_tokens_while_its_public_key_stays(tmp_path):
    keys = tmp_path / "deploy"
    make_deployment_keys(keys)
    before = Issuer("tools", load_signing_key(keys / "private" / "tools.key")).issue(
        "system:a", ["system"], seconds=600
    )
    make_deployment_keys(keys, rotate="tools")
    after = Issuer("tools", load_signing_key(keys / "private" / "tools.key")).issue("system:a", ["system"], seconds=600)
    check = Verifier(KeyRing(keys / "public"), Revocations())
    assert check.identify(before).is_system and check.identify(after).is_system
    (keys / "public" / "tools.previous.pub").unlink()
    check.keyring.RECHECK = 0  # look at the directory again now
    assert check.identify(before) == Identity() and check.identify(after).is_system


def test_access_rules_and_their_words():
    volunteer = Identity("volunteer:5", frozenset({"volunteer"}), volunteer_id=5)
    viewer = Identity("account:v", frozenset({"viewer"}))
    assert ANYONE.allows(Identity()) and not ORGANISERS.allows(volunteer) and READERS.allows(viewer)
    assert own().allows(volunteer) and not own().allows(Identity())
    assert volunteer.acts_for(5) and not volunteer.acts_for(6) and not viewer.acts_for(5)
    assert ORGANISERS.describe() == "organisers, services (system)"
    assert "sign in first" in ORGANISERS.refusal(Identity())
    assert ANYONE.describe() == "anyone, signed in or not"
    with pytest.raises(ValueError):
        allow("superuser")


def test_service_only_lets_in_that_service_on_its_own_account_and_no_one_else(keys):
    check = verifier(keys)
    organiser = check.identify(issuer(keys, "organiser").issue("service:organiser", ["system"], seconds=300))
    activities = check.identify(issuer(keys, "activities").issue("service:activities", ["system"], seconds=300))
    # the operator's key may sign any subject, but it is not the organiser service signing for itself
    tools = check.identify(issuer(keys, "tools").issue("service:organiser", ["system"], seconds=300))
    person = check.identify(issuer(keys, "organiser").issue("account:wangfang", ["organiser"], seconds=300))
    assert (organiser.service, activities.service, tools.service, person.service) == (
        "organiser",
        "activities",
        None,
        None,
    )
    rule = service_only("organiser")
    assert rule.allows(organiser)
    assert not any(rule.allows(c) for c in (activities, tools, person, Identity()))
    assert rule.describe() == "the organiser service only (its own system token)"
    assert "sign in first" in rule.refusal(Identity())
    with pytest.raises(ValueError):
        service_only("mallory")
    with pytest.raises(ValueError):
        service_only()


def test_a_verified_token_is_checked_once_and_counts_only_until_it_expires(keys, monkeypatch):
    """The signature of a token is checked on its first call only (the verifier keeps its claims),
    but a kept token still expires, and a revocation still applies to it."""
    clock = {"now": time.time()}
    revocations = Revocations()
    check = Verifier(KeyRing(keys), revocations, clock=lambda: clock["now"])
    token = issuer(keys, "tools", at=clock["now"]).issue("account:t", ["organiser"], seconds=300)
    signatures = []
    real_check = check._check
    monkeypatch.setattr(check, "_check", lambda t: signatures.append(t) or real_check(t))

    for _ in range(3):
        assert check.identify(token).is_organiser
    assert len(signatures) == 1  # the second and third calls used the kept claims

    clock["now"] += 300 + identity.LEEWAY - 1
    assert check.identify(token).is_organiser  # within the leeway after exp
    clock["now"] += 2
    assert check.identify(token) == Identity()  # expired: the kept claims do not outlive the token
    assert len(signatures) == 1

    clock["now"] -= 100  # a revocation applies to a kept token at once
    assert check.identify(token).is_organiser
    revocations.revoke(subject="account:t", before=time.time() + 1)
    assert check.identify(token) == Identity()
