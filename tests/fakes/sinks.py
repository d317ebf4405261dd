"""A Sink that records what the engine says, for core tests."""
from __future__ import annotations

from bot.messages import Kind, OutMessage


class RecordingSink:
    def __init__(self) -> None:
        self.messages: list[OutMessage] = []
        self.partials: list[tuple[str, str]] = []

    async def post(self, message: OutMessage) -> None:
        self.messages.append(message)

    async def partial(self, stream_id: str, markdown: str) -> None:
        self.partials.append((stream_id, markdown))

    def of(self, kind: Kind) -> list[OutMessage]:
        return [m for m in self.messages if m.kind is kind]

    def sections(self) -> list[str]:
        return [m.section for m in self.messages if m.kind is Kind.SECTION and m.section]

    def text(self) -> str:
        return "\n".join(m.markdown for m in self.messages)

    def clear(self) -> None:
        self.messages.clear()
        self.partials.clear()
