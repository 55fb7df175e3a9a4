"""The `fragrance-ai` command."""
