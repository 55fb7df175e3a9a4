"""The customers' web chat: Chainlit mounted in the product's FastAPI app at /chat, a thin adapter
over the turn service (mount.py wires it in; chainlit_app.py holds Chainlit's hooks)."""
