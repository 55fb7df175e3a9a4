"""Role models (intent, orchestrator, service) and their embedded fallbacks; built in the conversation issue."""
