"""The command palette's lab commands (ctrl+p): node actions with the command a person
would type for each, lesson actions, consoles and log views of the screen in front."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class LabCommands(Provider):
    """Whatever the active screen offers through ``palette_commands()``."""

    def _commands(self) -> list[tuple[str, str, object]]:
        get = getattr(self.screen, "palette_commands", None)
        return list(get()) if get is not None else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, partial(callback), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(callback), text=title,
                          help=help_text)
