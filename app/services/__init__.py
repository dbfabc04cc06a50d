"""Use cases: domain rules + models inside one transaction. The only layer that commits."""
