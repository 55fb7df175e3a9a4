"""Long-term and session memory: the repository (Postgres or SQLite), its migrations, the LangGraph
checkpointer, Redis locks, session log, event bus and rate limits with their in-process twins.

Nothing is imported here so that `memory.records` stays cheap; `memory.backends.open_memory` opens
everything at once.
"""
