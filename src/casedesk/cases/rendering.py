"""A stored case turned into the Omnium wire shape, serialised once."""

from __future__ import annotations

from typing import Any

import orjson

from casedesk.cases.models import CaseRow
from casedesk.clock import format_utc


def render_case(row: CaseRow) -> dict[str, Any]:
    return {
        "Id": row.id,
        "CaseNumber": row.case_number,
        "Subject": row.subject,
        "Description": row.description,
        "Status": row.status,
        "Priority": row.priority,
        "Source": row.source,
        "AssignedToUserId": row.assigned_to_user_id,
        "AssignedToName": row.assigned_to_name,
        "CustomerId": row.customer_id,
        "CustomerName": row.customer_name,
        "CustomerEmail": row.customer_email,
        "Tags": row.tags,
        "RelatedOrders": row.related_orders,
        "RelatedCustomers": row.related_customers,
        "RelatedProjects": row.related_projects,
        "RelatedCarts": row.related_carts,
        "RelatedSkuIds": row.related_sku_ids,
        "RelatedProductIds": row.related_product_ids,
        "Participants": row.participants,
        "CaseNotes": row.case_notes,
        "InternalNotes": row.internal_notes,
        "Properties": row.properties,
        "CaseStatusLog": row.status_log,
        "FollowUpDate": format_utc(row.follow_up_date),
        "ResolvedDate": format_utc(row.resolved_date),
        "ClosedDate": format_utc(row.closed_date),
        "LastCommentDate": format_utc(row.last_comment_date),
        "LastCommenterName": row.last_commenter_name,
        "CommentCount": row.comment_count,
        "Created": format_utc(row.created),
        "Changed": format_utc(row.changed),
        "MarketId": row.market_id,
        "MarketGroupId": row.market_group_id,
        "DeletedDate": format_utc(row.deleted_date),
    }


def case_json(row: CaseRow) -> bytes:
    return orjson.dumps(render_case(row))


def etag(row: CaseRow) -> str:
    return f'"{row.version}"'
