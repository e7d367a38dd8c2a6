"""The TUI's screens: start, lesson, sandbox, help, and the small dialogs."""
