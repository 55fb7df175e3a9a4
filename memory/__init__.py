"""Checkpointer and store factories, the Postgres repository and Redis session memory; built in the memory issue."""
