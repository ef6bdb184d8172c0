"""Monthly SLA compliance statements: generation, service credits, issuing and exports
(`docs/statements.md`)."""
