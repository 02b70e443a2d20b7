"""JWT access tokens (RFC 9068) against a real loopback issuer: each rejection, then acceptance."""

from __future__ import annotations

import asyncio
import time

import pytest

from berth.auth import InvalidCredential, Principal, authenticate_authorization
from berth.models.enums import DeploymentTrigger, Role, TokenKind

from .conftest import FakeClock
from .issuer import OAUTH_METADATA_PATH, OPENID_METADATA_PATH, Issuer

NOW = int(time.time())


async def accept(token: str) -> Principal:
    principal = await authenticate_authorization(f"Bearer {token}")
    assert principal is not None
    return principal


async def reject(token: str) -> str:
    """The rejection message; it must never contain the token or its signature."""
    with pytest.raises(InvalidCredential) as info:
        await authenticate_authorization(f"Bearer {token}")
    message = info.value.message
    assert token not in message
    assert token.split(".")[-1] not in message or not token.split(".")[-1]
    return message


# ---------------------------------------------------------------- rejections


async def test_expired(oauth: Issuer) -> None:
    now = int(time.time())
    message = await reject(oauth.sign(oauth.claims(iat=now - 600, nbf=now - 600, exp=now - 120)))
    assert "expired" in message


async def test_expired_within_leeway_is_accepted(oauth: Issuer) -> None:
    now = int(time.time())
    await accept(oauth.sign(oauth.claims(iat=now - 600, nbf=now - 600, exp=now - 5)))


async def test_missing_exp(oauth: Issuer) -> None:
    assert "exp" in await reject(oauth.sign(oauth.claims(exp=None)))


async def test_missing_sub(oauth: Issuer) -> None:
    assert "sub" in await reject(oauth.sign(oauth.claims(sub=None)))


async def test_not_yet_valid(oauth: Issuer) -> None:
    message = await reject(oauth.sign(oauth.claims(nbf=int(time.time()) + 300)))
    assert "not valid yet" in message


async def test_issued_in_the_future(oauth: Issuer) -> None:
    message = await reject(oauth.sign(oauth.claims(iat=int(time.time()) + 300)))
    assert "issued in the future" in message


async def test_wrong_issuer(oauth: Issuer) -> None:
    message = await reject(oauth.sign(oauth.claims(iss="https://evil.example")))
    assert "issuer" in message


async def test_issuer_must_match_exactly(oauth: Issuer) -> None:
    await reject(oauth.sign(oauth.claims(iss=oauth.url + "/")))


async def test_missing_issuer(oauth: Issuer) -> None:
    assert "iss" in await reject(oauth.sign(oauth.claims(iss=None)))


async def test_wrong_audience(oauth: Issuer) -> None:
    message = await reject(oauth.sign(oauth.claims(aud="https://other.example/api")))
    assert "aud" in message


async def test_audience_list_without_ours(oauth: Issuer) -> None:
    await reject(oauth.sign(oauth.claims(aud=["https://a.example", "https://b.example"])))


async def test_missing_audience(oauth: Issuer) -> None:
    await reject(oauth.sign(oauth.claims(aud=None)))


async def test_missing_typ(oauth: Issuer) -> None:
    message = await reject(oauth.sign(oauth.claims(), headers={"typ": None}))
    assert "typ" in message


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+jwt+extra", "application/jwt"])
async def test_wrong_typ(oauth: Issuer, typ: str) -> None:
    message = await reject(oauth.sign(oauth.claims(), headers={"typ": typ}))
    assert "typ" in message


async def test_alg_none(oauth: Issuer) -> None:
    # The canonical unsecured JWT ends in "." (empty signature): refused by its shape.
    await reject(oauth.alg_none(oauth.claims(), kid=oauth.current_kid["RS256"]))


async def test_alg_none_with_a_junk_signature(oauth: Issuer) -> None:
    token = oauth.alg_none(oauth.claims(), kid=oauth.current_kid["RS256"]) + "c2lnbmF0dXJl"
    assert "'none'" in await reject(token)


async def test_hs256_signed_with_the_public_key(oauth: Issuer) -> None:
    message = await reject(oauth.hs256_with_public_key(oauth.claims()))
    assert "HS256" in message


async def test_tampered_payload(oauth: Issuer) -> None:
    token = oauth.sign(oauth.claims(berth_role="viewer", scope="deploy:read"))
    await accept(token)  # the original is fine
    forged = oauth.tamper(token, berth_role="owner", scope="server:write tokens:manage")
    message = await reject(forged)
    assert "signature" in message


async def test_signature_of_another_key_with_a_known_kid(oauth: Issuer) -> None:
    token = oauth.sign_with_unpublished_key(oauth.claims(), kid=oauth.current_kid["RS256"])
    assert "signature" in await reject(token)


async def test_key_type_must_match_the_algorithm(oauth: Issuer) -> None:
    # An ES256 header naming the RSA key's kid: no key of the right type has that kid.
    token = oauth.sign(oauth.claims(), alg="ES256", headers={"kid": oauth.current_kid["RS256"]})
    await reject(token)


async def test_unknown_kid(oauth: Issuer) -> None:
    message = await reject(oauth.sign_with_unpublished_key(oauth.claims()))
    assert "key" in message


async def test_unknown_kid_right_after_loading_does_not_refetch(oauth: Issuer) -> None:
    await reject(oauth.sign_with_unpublished_key(oauth.claims()))
    await reject(oauth.sign_with_unpublished_key(oauth.claims(), kid="other"))
    assert oauth.jwks_fetches == 1  # the initial load only


async def test_unknown_kid_refetch_is_rate_limited(oauth: Issuer, clock: FakeClock) -> None:
    await accept(oauth.sign(oauth.claims()))
    assert oauth.jwks_fetches == 1
    clock.advance(61)  # past jwks_refresh_min_seconds (60)

    # A thundering herd of bad kids: one refetch in all.
    bad = [oauth.sign_with_unpublished_key(oauth.claims(), kid=f"bad-{i}") for i in range(3)]
    results = await asyncio.gather(
        *(authenticate_authorization(f"Bearer {bad[i % 3]}") for i in range(30)), return_exceptions=True
    )
    assert all(isinstance(r, InvalidCredential) for r in results)
    assert oauth.jwks_fetches == 2

    # Still within the interval: no more fetches, however many bad kids arrive.
    clock.advance(30)
    for token in bad:
        await reject(token)
    assert oauth.jwks_fetches == 2

    clock.advance(31)
    await reject(bad[0])
    assert oauth.jwks_fetches == 3


async def test_cold_start_burst_waits_for_the_first_fetch(oauth: Issuer) -> None:
    tokens = [oauth.sign(oauth.claims(sub=f"user-{i}"), alg=("RS256", "ES256")[i % 2]) for i in range(20)]
    principals = await asyncio.gather(*(accept(t) for t in tokens))
    assert {p.subject for p in principals} == {f"user-{i}" for i in range(20)}
    assert oauth.jwks_fetches == 1


async def test_key_rotation_is_picked_up_after_the_interval(oauth: Issuer, clock: FakeClock) -> None:
    await accept(oauth.sign(oauth.claims()))
    new_kid = oauth.rotate("RS256")
    token = oauth.sign(oauth.claims())
    assert token  # signed with new_kid
    clock.advance(61)
    principal = await accept(token)
    assert principal.subject == "user-42"
    assert oauth.jwks_fetches == 2
    assert new_kid in {k["kid"] for k in oauth.jwks()["keys"]}


async def test_rotated_key_within_the_interval_waits_for_it(oauth: Issuer, clock: FakeClock) -> None:
    await accept(oauth.sign(oauth.claims()))
    oauth.rotate("RS256")
    token = oauth.sign(oauth.claims())
    clock.advance(10)
    await reject(token)  # the refetch is rate-limited
    assert oauth.jwks_fetches == 1
    clock.advance(51)
    await accept(token)
    assert oauth.jwks_fetches == 2


async def test_withdrawn_key_stops_working_once_the_set_is_refreshed(oauth: Issuer, clock: FakeClock) -> None:
    old = oauth.sign(oauth.claims())
    await accept(old)
    oauth.rotate("RS256", keep_old=False)
    clock.advance(3601)  # the key set's maximum age
    await reject(old)
    await accept(oauth.sign(oauth.claims()))


async def test_jwt_refused_when_no_issuer_is_configured(
    oauth: Issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from berth.settings import reset_settings

    monkeypatch.delenv("BERTH_OAUTH_ISSUER")
    reset_settings()
    message = await reject(oauth.sign(oauth.claims()))
    assert "issuer" in message


async def test_unreachable_jwks(oauth: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    from berth.auth import reset_jwks_cache
    from berth.settings import reset_settings

    monkeypatch.setenv("BERTH_OAUTH_JWKS_URL", oauth.url + "/missing.json")
    reset_settings()
    reset_jwks_cache()
    assert "unavailable" in await reject(oauth.sign(oauth.claims()))


# ---------------------------------------------------------------- malformed headers


@pytest.mark.parametrize(
    "header",
    [
        "",
        "   ",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token abc.def.ghi",
        "Bearer a b",
        "Bearer abc def.ghi.jkl",
        "Bearer tok,en",
        "Bearer abc",
        "Bearer a.b",
        "Bearer a.b.c.d.e",
        "Bearer bm90IGpzb24.e30.c2ln",
        "Bearer berth_pat_short",
        "Bearer berth_pat_" + "x" * 100,
    ],
)
async def test_malformed_authorization_header(oauth: Issuer, header: str) -> None:
    with pytest.raises(InvalidCredential):
        await authenticate_authorization(header)


async def test_no_header_is_anonymous(oauth: Issuer) -> None:
    assert await authenticate_authorization(None) is None


@pytest.mark.parametrize("value", [42, ["Bearer", "x"], {"a": 1}])
async def test_non_string_authorization_is_malformed(oauth: Issuer, value: object) -> None:
    # A WebSocket connection_init payload can carry any JSON.
    with pytest.raises(InvalidCredential):
        await authenticate_authorization(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_scheme_is_case_insensitive(oauth: Issuer, scheme: str) -> None:
    principal = await authenticate_authorization(f"{scheme} {oauth.sign(oauth.claims())}")
    assert principal is not None


# ---------------------------------------------------------------- acceptance


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
async def test_valid_token_gives_the_principal(oauth: Issuer, alg: str) -> None:
    claims = oauth.claims(
        berth_role="developer",
        # service:write and tokens:manage are not the developer's: dropped.
        scope="deploy:read deploy:start service:read service:write tokens:manage",
        berth_projects=[3, "7"],
    )
    principal = await accept(oauth.sign(claims, alg=alg))
    assert principal.subject == "user-42"
    assert principal.email == "ada@example.test"
    assert principal.role is Role.DEVELOPER
    assert principal.token_kind is TokenKind.JWT
    assert principal.scopes == {"deploy:read", "deploy:start", "service:read"}
    assert principal.project_ids == {3, 7}
    assert principal.issuer == oauth.url
    assert principal.expires_at is not None and int(principal.expires_at.timestamp()) == claims["exp"]
    assert principal.trigger is DeploymentTrigger.USER
    assert principal.idempotency_subject == f"jwt:{oauth.url} user-42"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
async def test_accepted_typ_values(oauth: Issuer, typ: str) -> None:
    await accept(oauth.sign(oauth.claims(), headers={"typ": typ}))


async def test_audience_list_containing_ours(oauth: Issuer) -> None:
    await accept(oauth.sign(oauth.claims(aud=["https://other.example", oauth.audience])))


async def test_no_role_claim_means_no_scopes(oauth: Issuer) -> None:
    principal = await accept(oauth.sign(oauth.claims(berth_role=None)))
    assert principal.role is None
    assert principal.scopes == frozenset()


async def test_unknown_role_means_no_scopes(oauth: Issuer) -> None:
    principal = await accept(oauth.sign(oauth.claims(berth_role="superuser")))
    assert principal.role is None
    assert principal.scopes == frozenset()


async def test_no_scope_claim_means_no_scopes(oauth: Issuer) -> None:
    principal = await accept(oauth.sign(oauth.claims(scope=None, berth_role="owner")))
    assert principal.role is Role.OWNER
    assert principal.scopes == frozenset()


async def test_uppercase_role_and_scp_list(oauth: Issuer) -> None:
    principal = await accept(
        oauth.sign(oauth.claims(berth_role="OPERATOR", scope=None, scp=["deploy:rollback", "server:write"]))
    )
    assert principal.role is Role.OPERATOR
    assert principal.scopes == {"deploy:rollback"}


async def test_no_projects_claim_means_all_projects(oauth: Issuer) -> None:
    principal = await accept(oauth.sign(oauth.claims()))
    assert not principal.is_project_limited
    assert principal.may_see_project(12345)


async def test_empty_projects_claim_fails_closed(oauth: Issuer) -> None:
    principal = await accept(oauth.sign(oauth.claims(berth_projects=[])))
    assert principal.scopes == frozenset()


@pytest.mark.parametrize(
    "projects", [["abc"], [1.5], [True], [-1], [0], [{"id": 1}], "UHJvamVjdDox", ["²"], ["9" * 30], [2**64]]
)
async def test_malformed_projects_claim_is_rejected(oauth: Issuer, projects: object) -> None:
    assert "projects" in await reject(oauth.sign(oauth.claims(berth_projects=projects)))


async def test_configurable_claim_names(oauth: Issuer, monkeypatch: pytest.MonkeyPatch) -> None:
    from berth.settings import reset_settings

    monkeypatch.setenv("BERTH_OAUTH_ROLE_CLAIM", "https://berth.test/role")
    monkeypatch.setenv("BERTH_OAUTH_PROJECTS_CLAIM", "https://berth.test/projects")
    reset_settings()
    principal = await accept(
        oauth.sign(
            oauth.claims(
                berth_role=None, **{"https://berth.test/role": "viewer", "https://berth.test/projects": [9]}
            )
        )
    )
    assert principal.role is Role.VIEWER
    assert principal.scopes == {"deploy:read", "service:read"}
    assert principal.project_ids == {9}


async def test_keys_are_cached(oauth: Issuer) -> None:
    for alg in ("RS256", "ES256", "EdDSA", "RS256"):
        await accept(oauth.sign(oauth.claims(), alg=alg))
    assert oauth.jwks_fetches == 1


async def test_token_without_kid_is_verified_against_fitting_keys(oauth: Issuer) -> None:
    await accept(oauth.sign(oauth.claims(), headers={"kid": None}))


async def test_discovery_via_oauth_metadata(oauth_discovery: Issuer) -> None:
    await accept(oauth_discovery.sign(oauth_discovery.claims()))
    await accept(oauth_discovery.sign(oauth_discovery.claims(), alg="ES256"))
    assert oauth_discovery.hits[OAUTH_METADATA_PATH] == 1
    assert oauth_discovery.hits[OPENID_METADATA_PATH] == 0
    assert oauth_discovery.jwks_fetches == 1


async def test_discovery_falls_back_to_openid_configuration(oauth_discovery: Issuer) -> None:
    oauth_discovery.serve_oauth_metadata = False
    await accept(oauth_discovery.sign(oauth_discovery.claims()))
    assert oauth_discovery.hits[OPENID_METADATA_PATH] == 1
    assert oauth_discovery.jwks_fetches == 1


async def test_discovery_without_metadata_rejects(oauth_discovery: Issuer) -> None:
    oauth_discovery.serve_oauth_metadata = False
    oauth_discovery.serve_openid_metadata = False
    assert "unavailable" in await reject(oauth_discovery.sign(oauth_discovery.claims()))
    assert oauth_discovery.jwks_fetches == 0
