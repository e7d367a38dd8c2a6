"""F1 / ?: the keys, and what each pane shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# redislab — help

Every node is a real Redis endpoint on its own port. What you type in a console goes to
that node over RESP, exactly as `redis-cli` would send it.

## Lessons

| Key | Does |
| :-- | :-- |
| **F2** (r) | run the step's commands and actions on their nodes |
| **F3** (c) | check the step |
| **F4** (h) | a hint |
| **F5** (a) | show the answer and apply it |
| **F6** (p) / **F7** (n) | previous / next step |
| **F9** / **F10** | reset the step / the whole lesson (a fresh lab) |

Letters in brackets work when you are not typing in a console (press **Esc** first).

## Consoles, nodes, logs

| Key | Does |
| :-- | :-- |
| Enter | send the command typed in the console |
| ↑ / ↓ | command history |
| Tab | complete the command name (its syntax shows below) |
| `@replica1` | switch to replica1's console (**ctrl+n**: next node) |
| `help SET` | the syntax of a command, from COMMAND DOCS |
| **F8** | node actions: stop, kill, restart, pause, resume, start, partition, heal |
| S K R P U T X H | the same actions on the active node, when not typing |
| **/** | filter the logs (they keep following); Esc clears the filter |
| **ctrl+p** | command palette: every action above, by name |

Each node action shows the command a person would type for it (`redis-cli … SHUTDOWN`,
`kill -9 <pid>`, `docker pause …`).

## Panes

* **topology**: each node (● up, ● down, ◌ no reply: paused or slow), its role, who
  replicates whom and the link's state (up / syncing / down), replication offsets and lag,
  what the Sentinels agree on, cluster slot ranges. Redrawn when INFO changes.
* **INFO**: the node's INFO, refreshed twice a second; pick the section at the top; values
  that just changed are highlighted.
* **logs**: every node's log as it is written, coloured by node; pick one node or all.

## Everywhere

| Key | Does |
| :-- | :-- |
| **F1** / ? | this help |
| **ctrl+t** | light / dark theme |
| **Esc** | leave the console: letters become keys |
| **q** | leave the lab (when not typing; its nodes are torn down) |
| **ctrl+q** / **ctrl+c** | quit (the labs started here are torn down) |
"""


class HelpScreen(ModalScreen[None]):
    """The keys and the panes."""

    BINDINGS = [
        Binding("escape,f1,q,question_mark", "close", "Close", id="close-help",
                tooltip="Back to where you were"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
