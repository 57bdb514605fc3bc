"""/resources: everyone signed in reads; admins create, update and deactivate."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.deps import DB, Me
from api.errors import ERROR_RESPONSES
from api.schemas import PageOut, ResourceIn, ResourceOut, ResourceUpdateIn, ShortText
from engine import services

router = APIRouter(prefix="/resources", tags=["resources"], responses=ERROR_RESPONSES)


@router.get("", response_model=PageOut[ResourceOut])
def list_resources(db: DB, me: Me, include_inactive: bool = False,
                   resource_type: Annotated[ShortText | None, Query(max_length=50)] = None,
                   safety_zone_id: UUID | None = None,
                   page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                   page_size: Annotated[int, Query(ge=1, le=500)] = 50):
    """Sorted by type and name. The engine returns the whole (small) list; pages are cut here."""
    rows = services.list_resources(db.uow(), me.id, include_inactive=include_inactive,
                                   resource_type=resource_type, safety_zone_id=safety_zone_id)
    start = (page - 1) * page_size
    return PageOut.of(services.Page(rows[start:start + page_size], len(rows), page, page_size),
                      ResourceOut.model_validate)


@router.get("/{resource_id}", response_model=ResourceOut)
def read_resource(resource_id: UUID, db: DB, me: Me):
    return services.get_resource(db.uow(), me.id, resource_id)


@router.post("", status_code=201, response_model=ResourceOut)
def create_resource(body: ResourceIn, db: DB, me: Me):
    return services.create_resource(db.uow(), me.id, **body.model_dump())


@router.put("/{resource_id}", response_model=ResourceOut)
def update_resource(resource_id: UUID, body: ResourceUpdateIn, db: DB, me: Me):
    """Change only the fields sent; `is_active` deactivates or reactivates."""
    fields = body.model_dump(exclude_unset=True)
    active = fields.pop("is_active", None)
    view = None
    if fields or active is None:
        view = services.update_resource(db.uow(), me.id, resource_id, **fields)
    if active is not None and (view is None or view.is_active != active):
        view = services.set_resource_active(db.uow(), me.id, resource_id, active)
    return view if view is not None else services.get_resource(db.uow(), me.id, resource_id)


@router.delete("/{resource_id}", response_model=ResourceOut)
def deactivate_resource(resource_id: UUID, db: DB, me: Me):
    """Deactivate: no new requests or approvals; existing bookings are left to staff."""
    return services.deactivate_resource(db.uow(), me.id, resource_id)
