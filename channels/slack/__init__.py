"""The Slack app for shop staff (slack-bolt's AsyncApp): mentions, direct messages, the /fragrance command
and the handoff channel, each a thin adapter over the runtime's turn service and tools.

`mount.py` is what the REST app imports (cheap); the Bolt app and its listeners are built from the runtime
in the REST lifespan only when the product's Slack settings are present.
"""
