"""Domain engines and the LangChain tools built on them (catalog search, later perfumery)."""
