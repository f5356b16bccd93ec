"""Tenants: each one numbers its own cases, and none sees another's."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from casedesk.auth import service as auth_service
from casedesk.errors import Conflict, InvalidInput, NotFound
from casedesk.tenants import service as tenants_service
from casedesk.tenants.models import TenantRow
from tests.conftest import ApiUser, UserFactory, run_in_transaction

CASE_ID = "abc123"


@pytest.fixture
def acme(make_user: UserFactory) -> ApiUser:
    """A CaseAdmin of tenant acme, all markets."""
    return make_user("CaseAdmin", tenant="acme")


def create_tenant(database_url: str, name: str) -> TenantRow:
    async def work(session: AsyncSession) -> TenantRow:
        return await tenants_service.create_tenant(session, name=name)

    return run_in_transaction(database_url, work)


# --- cases across tenants ----------------------------------------------------------------


def test_each_tenant_numbers_its_cases_from_1001(admin: ApiUser, acme: ApiUser) -> None:
    assert admin.create_case()["CaseNumber"] == "CS-1001"
    assert acme.create_case()["CaseNumber"] == "CS-1001"


def test_one_tenants_cases_do_not_advance_anothers_numbers(admin: ApiUser, acme: ApiUser) -> None:
    admin.create_case()
    admin.create_case()
    acme.create_case()
    assert (admin.create_case()["CaseNumber"], acme.create_case()["CaseNumber"]) == (
        "CS-1003",
        "CS-1002",
    )


def test_two_tenants_may_use_the_same_case_id(admin: ApiUser, acme: ApiUser) -> None:
    admin.create_case(Id=CASE_ID, Subject="Order arrived damaged")
    acme.create_case(Id=CASE_ID, Subject="Parcel never arrived")
    assert admin.get(f"/api/cases/{CASE_ID}").json()["Subject"] == "Order arrived damaged"
    assert acme.get(f"/api/cases/{CASE_ID}").json()["Subject"] == "Parcel never arrived"


def test_another_tenants_case_is_404_by_id(admin: ApiUser, acme: ApiUser) -> None:
    admin.create_case(Id=CASE_ID)
    response = acme.get(f"/api/cases/{CASE_ID}")
    assert response.status_code == 404


def test_another_tenants_cases_never_appear_in_search(admin: ApiUser, acme: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    acme.create_case(Subject="Parcel never arrived")
    response = acme.post("/api/cases/search", json={"IncludeDeleted": True})
    assert [item["Subject"] for item in response.json()["Items"]] == ["Parcel never arrived"]
    assert response.json()["TotalHits"] == 1


def test_another_tenants_cases_are_not_found_by_search_text(admin: ApiUser, acme: ApiUser) -> None:
    admin.create_case(Subject="Order arrived damaged")
    response = acme.post("/api/cases/search", json={"SearchText": "damaged"})
    assert response.json()["TotalHits"] == 0


def test_another_tenants_case_cannot_be_changed(admin: ApiUser, acme: ApiUser) -> None:
    admin.create_case(Id=CASE_ID, Priority="Low")
    response = acme.patch("/api/cases", json={"Id": CASE_ID, "Priority": "Critical"})
    assert response.status_code == 404
    assert admin.get(f"/api/cases/{CASE_ID}").json()["Priority"] == "Low"


# --- creating tenants and their users ----------------------------------------------------


def test_a_tenant_is_created_with_its_name(database_url: str) -> None:
    assert create_tenant(database_url, "acme.shop_1").name == "acme.shop_1"


@pytest.mark.parametrize("name", ["", "-acme", ".acme", "acme shop", "acme/shop", "æøå", "a" * 101])
def test_a_tenant_name_outside_the_allowed_characters_is_refused(
    database_url: str, name: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_tenant(database_url, name)
    assert list(refused.value.errors) == ["Name"]


def test_a_tenant_name_may_be_used_only_once(database_url: str) -> None:
    create_tenant(database_url, "acme")
    with pytest.raises(Conflict, match="'acme' already exists"):
        create_tenant(database_url, "acme")


def test_the_default_tenant_exists_from_the_start(database_url: str) -> None:
    with pytest.raises(Conflict):
        create_tenant(database_url, "default")


def test_a_user_cannot_be_created_in_a_tenant_that_does_not_exist(database_url: str) -> None:
    async def work(session: AsyncSession) -> auth_service.NewUser:
        return await auth_service.create_user(
            session, name="Acme shop", roles=["CaseRead"], markets=[], tenant="acme"
        )

    with pytest.raises(NotFound, match="'acme' does not exist"):
        run_in_transaction(database_url, work)
