"""Prompt templates per role and language, kept as files; built in the conversation issue."""
