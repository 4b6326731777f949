"""`laowu-node`'s commands: one module per group of commands (DESIGN §1)."""
