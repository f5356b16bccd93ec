"""Reading and changing a tenant's case settings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth.policy import Actor, require_every_market
from casedesk.case_settings import repository, rules
from casedesk.case_settings.rules import CaseRules
from casedesk.cases import repository as cases_repository
from casedesk.errors import Conflict


class SettingInUse(Conflict):
    """A status or priority that cases still use cannot be removed."""


class PrefixRepeatsCaseNumber(Conflict):
    """A number prefix under which a later case would get an existing case's number."""

    def __init__(self, prefix: str, case_number: str) -> None:
        super().__init__(
            f"NumberPrefix '{prefix}' would give a later case the number '{case_number}', "
            "which an existing case already has (numbered under an earlier prefix). "
            "Case numbers are unique: choose another prefix."
        )


async def get_settings(session: AsyncSession, *, actor: Actor) -> CaseRules:
    return await repository.get_rules(session, actor.tenant_id)


async def update_settings(session: AsyncSession, *, actor: Actor, proposed: CaseRules) -> CaseRules:
    """Replace the settings, ordered by Level and Severity; cases follow respellings and levels.
    Only a user of every market may, so the cases counted in a refusal are all its own to see."""
    require_every_market(actor, "change the case settings")
    rules.check(proposed)
    tenant_id = actor.tenant_id
    await repository.hold_rules(session, tenant_id, exclusive=True)
    used_statuses = await cases_repository.count_by_status(session, tenant_id=tenant_id)
    used_priorities = await cases_repository.count_by_priority(session, tenant_id=tenant_id)
    statuses = {s.name.lower(): s for s in proposed.statuses}
    priorities = {p.name.lower(): p for p in proposed.priorities}
    in_use = [
        f"Status '{name}' is used by {count} case{'s' if count != 1 else ''}."
        for name, count in sorted(used_statuses.items())
        if name.lower() not in statuses
    ] + [
        f"Priority '{name}' is used by {count} case{'s' if count != 1 else ''}."
        for name, count in sorted(used_priorities.items())
        if name.lower() not in priorities
    ]
    if in_use:
        raise SettingInUse(" ".join(in_use) + " Move those cases first.")
    current = await repository.get_rules(session, tenant_id)
    if proposed.number_prefix != current.number_prefix:
        await _refuse_repeated_numbers(session, tenant_id, proposed.number_prefix)
    for old in current.statuses:
        new = statuses.get(old.name.lower())
        if new is not None and new != old and old.name in used_statuses:
            await cases_repository.restate_status(
                session, tenant_id=tenant_id, old_name=old.name, new_name=new.name, level=new.level
            )
    for old_priority in current.priorities:
        new_priority = priorities.get(old_priority.name.lower())
        if (
            new_priority is not None
            and new_priority != old_priority
            and old_priority.name in used_priorities
        ):
            await cases_repository.restate_priority(
                session,
                tenant_id=tenant_id,
                old_name=old_priority.name,
                new_name=new_priority.name,
                severity=new_priority.severity,
            )
    canonical = CaseRules(
        statuses=tuple(sorted(proposed.statuses, key=lambda s: s.level)),
        status_new=statuses[proposed.status_new.lower()].name,
        status_resolved=statuses[proposed.status_resolved.lower()].name,
        status_closed=statuses[proposed.status_closed.lower()].name,
        priorities=tuple(sorted(proposed.priorities, key=lambda p: p.severity)),
        default_priority=priorities[proposed.default_priority.lower()].name,
        number_prefix=proposed.number_prefix,
    )
    await repository.save_rules(session, tenant_id, canonical)
    return canonical


async def _refuse_repeated_numbers(session: AsyncSession, tenant_id: int, prefix: str) -> None:
    """Numbers only grow, so a prefix is safe unless an existing case number is the prefix
    followed by a number still to come ("CS-1" then 1001 is "CS-" then 11001). The settings
    are held, so no create takes a number meanwhile."""
    last = await cases_repository.last_case_number(session, tenant_id=tenant_id)
    for case_number in await cases_repository.case_numbers_ahead(
        session, tenant_id=tenant_id, prefix=prefix, last=last
    ):
        if (rules.number_in(case_number, prefix) or 0) > last:
            raise PrefixRepeatsCaseNumber(prefix, case_number)
