"""Who may do what, on its own: the role hierarchy and market scoping. No database."""

from __future__ import annotations

import pytest

from casedesk.auth.policy import (
    Actor,
    Role,
    is_valid_role,
    require,
    require_every_market,
    require_market,
)
from casedesk.errors import NotPermitted


def actor(*roles: str) -> Actor:
    return Actor(client_id="client-1", name="Support desk", tenant_id=1, roles=frozenset(roles))


@pytest.mark.parametrize(
    ("held", "granted"),
    [
        ("CaseRead", {Role.CASE_READ}),
        ("CaseAdmin", {Role.CASE_ADMIN, Role.CASE_READ}),
        ("ApiOwner", {Role.API_OWNER, Role.CASE_ADMIN, Role.CASE_READ}),
        ("AllMarkets", set()),
        ("market-NO", set()),
    ],
)
def test_a_role_grants_itself_and_the_roles_below_it(held: str, granted: set[Role]) -> None:
    assert actor(held).granted == granted


def test_several_roles_grant_the_union_of_what_each_grants() -> None:
    assert actor("CaseRead", "ApiOwner").granted == {
        Role.API_OWNER,
        Role.CASE_ADMIN,
        Role.CASE_READ,
    }


@pytest.mark.parametrize(
    ("held", "required", "allowed"),
    [
        ("CaseRead", Role.CASE_READ, True),
        ("CaseRead", Role.CASE_ADMIN, False),
        ("CaseRead", Role.API_OWNER, False),
        ("CaseAdmin", Role.CASE_READ, True),
        ("CaseAdmin", Role.CASE_ADMIN, True),
        ("CaseAdmin", Role.API_OWNER, False),
        ("ApiOwner", Role.CASE_READ, True),
        ("ApiOwner", Role.CASE_ADMIN, True),
        ("ApiOwner", Role.API_OWNER, True),
        ("AllMarkets", Role.CASE_READ, False),
    ],
)
def test_require_lets_through_exactly_the_granted_roles(
    held: str, required: Role, allowed: bool
) -> None:
    if allowed:
        require(actor(held), required)
    else:
        with pytest.raises(NotPermitted, match=f"requires the {required} role"):
            require(actor(held), required)


def test_all_markets_means_no_market_limit() -> None:
    assert actor("CaseRead", "AllMarkets").markets is None


def test_market_roles_limit_the_user_to_those_markets() -> None:
    assert actor("CaseRead", "market-NO", "market-SE").markets == frozenset({"NO", "SE"})


def test_all_markets_outweighs_market_roles() -> None:
    assert actor("CaseRead", "AllMarkets", "market-NO").markets is None


def test_a_user_without_any_market_role_sees_no_market() -> None:
    assert actor("CaseRead").markets == frozenset()
    assert not actor("CaseRead").can_see_market("NO")


@pytest.mark.parametrize(
    ("market_id", "visible"),
    [("NO", True), ("SE", True), ("DK", False), ("no", False), (None, False)],
)
def test_a_market_scoped_user_sees_only_cases_in_its_markets(
    market_id: str | None, visible: bool
) -> None:
    assert actor("CaseRead", "market-NO", "market-SE").can_see_market(market_id) is visible


@pytest.mark.parametrize("market_id", ["NO", "DK", None])
def test_an_all_markets_user_sees_every_market_and_cases_without_one(
    market_id: str | None,
) -> None:
    assert actor("CaseRead", "AllMarkets").can_see_market(market_id)


def test_require_market_allows_writing_into_an_own_market() -> None:
    require_market(actor("CaseAdmin", "market-NO"), "NO")


def test_require_market_refuses_another_market_and_names_the_users_markets() -> None:
    with pytest.raises(NotPermitted, match=r"market 'DK'.*your markets: NO, SE"):
        require_market(actor("CaseAdmin", "market-SE", "market-NO"), "DK")


def test_require_market_refuses_a_case_without_market_to_a_market_scoped_user() -> None:
    with pytest.raises(NotPermitted, match="no market"):
        require_market(actor("CaseAdmin", "market-NO"), None)


def test_require_every_market_lets_an_all_markets_user_through() -> None:
    require_every_market(actor("ApiOwner", "AllMarkets"), "change the case settings")


@pytest.mark.parametrize(
    "roles", [("ApiOwner", "market-NO"), ("ApiOwner", "market-NO", "market-SE"), ("ApiOwner",)]
)
def test_require_every_market_refuses_a_user_limited_to_some_or_no_markets(
    roles: tuple[str, ...],
) -> None:
    with pytest.raises(NotPermitted, match=r"To change the case settings.*AllMarkets"):
        require_every_market(actor(*roles), "change the case settings")


@pytest.mark.parametrize(
    ("role", "valid"),
    [
        ("CaseRead", True),
        ("CaseAdmin", True),
        ("ApiOwner", True),
        ("AllMarkets", True),
        ("market-NO", True),
        ("market-", False),
        ("caseread", False),
        ("Admin", False),
        ("", False),
    ],
)
def test_only_known_roles_and_market_roles_are_valid(role: str, valid: bool) -> None:
    assert is_valid_role(role) is valid
