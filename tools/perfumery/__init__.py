"""Perfumery: the materials database, IFRA and EU allergen rules, formula validation and composition."""
