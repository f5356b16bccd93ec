"""The reference's own examples, shown in the OpenAPI document."""

from __future__ import annotations

from typing import Any

CREATE: dict[str, Any] = {
    "Subject": "Order arrived damaged",
    "Description": (
        "Customer reports that package was visibly damaged on arrival. "
        "Items inside may be affected."
    ),
    "Priority": "High",
    "Source": "Phone",
    "CustomerEmail": "customer@example.com",
    "Tags": ["Shipping", "Product Issue"],
    "RelatedOrders": ["ORD-10542"],
}

SEARCH: dict[str, Any] = {
    "SearchText": "damaged",
    "Status": "New",
    "Priority": "High",
    "SortOrder": "CreatedDescending",
    "Page": 0,
    "Take": 20,
}

SEARCH_RESULT: dict[str, Any] = {
    "Items": [
        {
            "Id": "abc123",
            "CaseNumber": "CS-1042",
            "Subject": "Order arrived damaged",
            "Status": "New",
            "Priority": "High",
            "CustomerName": "Jane Smith",
            "Created": "2026-03-15T10:30:00Z",
        }
    ],
    "TotalHits": 1,
    "Page": 0,
    "PageSize": 20,
}

PATCH: dict[str, Any] = {
    "Id": "abc123",
    "Priority": "Critical",
    "Tags": ["Shipping", "Product Issue", "Escalated"],
}

REPLACE: dict[str, Any] = {
    "Id": "abc123",
    "Subject": "Order arrived damaged",
    "Status": "In Progress",
    "Priority": "High",
    "CustomerEmail": "customer@example.com",
    "Tags": ["Shipping"],
}

COMMENT: dict[str, Any] = {
    "Detail": "Called the customer; a replacement is on its way.",
    "Type": "Internal",
}
