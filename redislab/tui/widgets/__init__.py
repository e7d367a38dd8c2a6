"""The TUI's widgets, one per module. Widgets never do I/O: they show what the screens give
them and post messages about what the learner does."""
