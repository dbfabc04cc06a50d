"""Pure business rules for Daidaitong: no web framework, no database, standard library only."""
