"""Customers' data rights: everything held about a person, exported or erased, and retention.

Erasure reaches every store that holds a conversation: the product's rows, LangGraph's thread
checkpoints and the session memory in Redis; the audit log keeps that it happened, not what was said.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from memory.backends import Memory


async def export_customer(memory: Memory, customer_id: str, actor: str) -> dict[str, Any] | None:
    """Everything held about the customer as JSON-able data; None for an unknown id."""
    data = await memory.repository.export_customer(customer_id)
    if data is not None:
        await memory.repository.audit(actor, "customer.export", customer_id)
    return data


async def erase_customer(memory: Memory, customer_id: str, actor: str) -> list[str] | None:
    """Delete the customer everywhere; returns the erased conversation ids, None for an unknown id."""
    if await memory.repository.get_customer(customer_id) is None:
        return None
    conversations = await memory.repository.delete_customer(customer_id)
    for conversation_id in conversations:
        await memory.checkpointer.adelete_thread(conversation_id)
        await memory.sessions.forget(conversation_id)
    await memory.repository.audit(actor, "customer.delete", customer_id, {"conversations": len(conversations)})
    return conversations


async def purge_transcripts(memory: Memory, older_than_days: int, actor: str) -> int:
    """Delete transcript lines older than the retention period, and the thread state (checkpoints,
    session memory) of conversations idle that long; returns how many lines went."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    for conversation_id in await memory.repository.conversations_idle_since(cutoff):
        await memory.checkpointer.adelete_thread(conversation_id)
        await memory.sessions.forget(conversation_id)
    count = await memory.repository.purge_transcripts(cutoff)
    await memory.repository.audit(
        actor, "transcripts.purge", None, {"older_than_days": older_than_days, "lines": count}
    )
    return count
