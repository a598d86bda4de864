"""Cross-cutting core of Routes: settings, errors, and the warehouse file."""
