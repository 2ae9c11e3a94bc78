// see docs/architecture.md.
