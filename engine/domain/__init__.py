"""Pure rules: no database, no I/O. Everything here is unit-tested without a database."""
