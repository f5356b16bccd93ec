"""Who may do what: roles, and the markets a user may see and write. Pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from casedesk.errors import NotPermitted

ALL_MARKETS = "AllMarkets"
MARKET_ROLE_PREFIX = "market-"


class Role(StrEnum):
    CASE_READ = "CaseRead"
    CASE_ADMIN = "CaseAdmin"
    API_OWNER = "ApiOwner"


# A role grants itself and everything listed after it.
_GRANTS: dict[str, frozenset[Role]] = {
    Role.CASE_READ: frozenset({Role.CASE_READ}),
    Role.CASE_ADMIN: frozenset({Role.CASE_ADMIN, Role.CASE_READ}),
    Role.API_OWNER: frozenset({Role.API_OWNER, Role.CASE_ADMIN, Role.CASE_READ}),
}

KNOWN_ROLES = frozenset({*_GRANTS, ALL_MARKETS})


def is_valid_role(role: str) -> bool:
    return role in KNOWN_ROLES or (
        role.startswith(MARKET_ROLE_PREFIX) and len(role) > len(MARKET_ROLE_PREFIX)
    )


@dataclass(frozen=True)
class Actor:
    """The API user behind a request."""

    client_id: str
    name: str
    tenant_id: int
    roles: frozenset[str]

    @property
    def granted(self) -> frozenset[Role]:
        granted: set[Role] = set()
        for role in self.roles:
            granted |= _GRANTS.get(role, frozenset())
        return frozenset(granted)

    @property
    def markets(self) -> frozenset[str] | None:
        """The markets this user is limited to, or None for all markets."""
        if ALL_MARKETS in self.roles:
            return None
        return frozenset(
            r[len(MARKET_ROLE_PREFIX) :] for r in self.roles if r.startswith(MARKET_ROLE_PREFIX)
        )

    def can_see_market(self, market_id: str | None) -> bool:
        markets = self.markets
        return markets is None or (market_id is not None and market_id in markets)


def require(actor: Actor, role: Role) -> None:
    if role not in actor.granted:
        raise NotPermitted(f"This operation requires the {role} role.")


def require_market(actor: Actor, market_id: str | None) -> None:
    """A user limited to some markets may only write cases into those markets."""
    if actor.can_see_market(market_id):
        return
    mine = ", ".join(sorted(actor.markets or ())) or "none"
    target = f"market '{market_id}'" if market_id else "no market"
    raise NotPermitted(f"You may not write a case into {target}; your markets: {mine}.")


def require_every_market(actor: Actor, action: str) -> None:
    """What applies to the whole tenant (its case settings) only a user of every market may do:
    the answer may then speak of any case without telling a market-scoped user of others."""
    if actor.markets is not None:
        raise NotPermitted(
            f"To {action} a user needs every market (the {ALL_MARKETS} role): "
            "it applies to the whole tenant."
        )
