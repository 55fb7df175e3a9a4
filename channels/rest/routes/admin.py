"""Data rights for shop administrators (a signed-in admin, or a key with the admin scope): export and
erase a customer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel

from channels.rest.deps import RuntimeDep
from channels.rest.routes.chat import ERRORS
from channels.rest.security import AdminPrincipal
from memory.rights import erase_customer, export_customer

router = APIRouter(prefix="/admin", tags=["admin"])
CustomerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="An opaque customer id.")]


class Erased(BaseModel):
    customer_id: str
    conversations: list[str]


@router.get("/customers/{customer_id}/export", responses=ERRORS, summary="Everything held about a customer")
async def export(customer_id: CustomerId, admin: AdminPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """The customer, their identities, preferences, conversations with redacted transcripts,
    formulas and handoff tickets, as JSON. The export is audited."""
    data = await export_customer(runtime.memory, customer_id, admin.actor)
    if data is None:
        raise HTTPException(status_code=404, detail=f"there is no customer {customer_id}")
    return data


@router.delete("/customers/{customer_id}", response_model=Erased, responses=ERRORS, summary="Erase a customer")
async def erase(customer_id: CustomerId, admin: AdminPrincipal, runtime: RuntimeDep) -> Erased:
    """Deletes the customer everywhere: rows, conversation checkpoints, session memory. An audit
    entry records that it happened (not what was said)."""
    erased = await erase_customer(runtime.memory, customer_id, admin.actor)
    if erased is None:
        raise HTTPException(status_code=404, detail=f"there is no customer {customer_id}")
    return Erased(customer_id=customer_id, conversations=erased)
