from __future__ import annotations

from tests.conftest import ApiUser


def test_created_case_can_be_read_back(admin: ApiUser) -> None:
    created = admin.create_case(Priority="High")
    response = admin.get(f"/api/cases/{created['Id']}")
    assert response.status_code == 200
    assert response.json()["CaseNumber"] == "CS-1001"
    assert response.headers["ETag"] == '"1"'
