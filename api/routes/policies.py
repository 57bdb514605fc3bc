"""/policies and /approvers: everyone signed in reads the booking rules and who decides; admins
change them (the engine refuses everyone else). Each change is one engine call, audited with
its previous state (engine/services/policies.py)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES
from api.schemas import (
    ApproverOut,
    ApproversIn,
    AuditOut,
    EffectivePolicyOut,
    PageOut,
    PolicyIn,
    PolicyOut,
)
from engine import services

router = APIRouter(tags=["policies"], responses=ERROR_RESPONSES)

Page = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=500)]


def _page(rows: list, page: int, page_size: int, convert) -> PageOut:
    """The engine returns the whole (small) list; pages are cut here, as for resources."""
    start = (page - 1) * page_size
    return PageOut.of(services.Page(rows[start:start + page_size], len(rows), page, page_size),
                      convert)


@router.get("/policies", response_model=PageOut[PolicyOut])
def list_policies(db: DB, me: Me, page: Page = 1, page_size: PageSize = 50):
    """Every type's and resource's policy row, types first."""
    return _page(services.list_policies(db.uow(), me.id), page, page_size,
                 PolicyOut.model_validate)


@router.put("/policies", response_model=PolicyOut)
def set_policy(body: PolicyIn, db: DB, me: Me):
    """Create or change the policy of the resource type or resource named in the body; only
    the fields sent change, `null` clears one."""
    values = body.model_dump(exclude_unset=True)
    scope = {k: values.pop(k, None) for k in ("resource_type", "resource_id")}
    return services.set_policy(db.uow(), me.id, **scope, **values)


@router.get("/policies/history", response_model=list[AuditOut])
def policy_history(db: DB, me: Me, limit: int = 50):
    """The latest policy and approver changes (`limit` 1 to 500), newest first, each with
    its previous state."""
    return services.policy_history(db.uow(), me.id, limit=limit)


@router.delete("/policies/{policy_id}", status_code=204, response_class=Response)
def delete_policy(policy_id: UUID, db: DB, me: Me):
    """Its scope falls back to its type's rules, or the defaults."""
    services.delete_policy(db.uow(), me.id, policy_id)
    return Response(status_code=204)


@router.get("/resources/{resource_id}/policy", response_model=EffectivePolicyOut)
def effective_policy(resource_id: UUID, db: DB, me: Me):
    """The rules a request for this resource meets, after resource → type → default."""
    return services.get_effective_policy(db.uow(), me.id, resource_id)


@router.get("/approvers", response_model=PageOut[ApproverOut])
def list_approvers(db: DB, me: Me, page: Page = 1, page_size: PageSize = 50):
    """Every named approver with its scope; a resource with none named is decided by all
    staff."""
    return _page(services.list_approvers(db.uow(), me.id), page, page_size,
                 ApproverOut.model_validate)


@router.put("/approvers", response_model=list[ApproverOut])
def set_approvers(body: ApproversIn, db: DB, me: Me):
    """Replace the approvers of one resource type, safety zone or resource (the most specific
    scope with anyone named decides)."""
    return services.set_approvers(db.uow(), me.id, list(body.user_ids),
                                  resource_type=body.resource_type,
                                  safety_zone_id=body.safety_zone_id,
                                  resource_id=body.resource_id)
