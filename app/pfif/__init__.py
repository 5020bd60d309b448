"""PFIF 1.4 exchange: import from and export to other person-finder repositories (docs/pfif.md)."""
