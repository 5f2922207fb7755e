"""The setup a customer applies for one destination: :class:`PolicyDocuments` and its sections."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Section:
    """One titled part of the setup: why, which documents, which commands.

    Attributes:
        title: The heading; the checker's remediation text names it ("IAM policy", "CORS rules", …).
        text: What the section does, in plain words.
        documents: File names of the documents this section applies (keys of
            :attr:`PolicyDocuments.documents`).
        commands: Shell commands that apply them, run from the folder holding the documents.
    """

    title: str
    text: str
    documents: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyDocuments:
    """Everything a customer applies for one destination.

    Attributes:
        provider: ``s3``, ``gcs`` or ``azure``.
        destination: The destination's label.
        documents: JSON documents by file name (for example ``iam-policy.json``), in the order applied.
        sections: The titled parts of the setup, in the order to apply them.
        steps: Plain-language steps for onboarding staff.
        placeholders: Markers left in documents and commands (``<EXTERNAL_ID>``) and what to put there.
        notes: Caveats worth reading before applying.
    """

    provider: str
    destination: str
    documents: Mapping[str, Any]
    sections: tuple[Section, ...]
    steps: tuple[str, ...]
    placeholders: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def document(self, name: str) -> Any:  # noqa: ANN401  (a JSON document: dict or list)
        """Return a copy of the document saved as ``name`` (a file name such as ``cors.json``)."""
        return json.loads(json.dumps(self.documents[name]))

    def section(self, wording: str) -> Section:
        """Return the first section whose title contains ``wording`` (e.g. ``"CORS rules"``).

        Raises:
            KeyError: No title contains it.
        """
        for section in self.sections:
            if wording in section.title:
                return section
        raise KeyError(wording)

    @property
    def commands(self) -> tuple[str, ...]:
        """Every command, in the order to run them."""
        return tuple(command for section in self.sections for command in section.commands)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: provider, destination, documents, sections, steps, placeholders, notes."""
        return {
            "provider": self.provider,
            "destination": self.destination,
            "documents": {name: self.document(name) for name in self.documents},
            "sections": [
                {
                    "title": section.title,
                    "text": section.text,
                    "documents": list(section.documents),
                    "commands": list(section.commands),
                }
                for section in self.sections
            ],
            "steps": list(self.steps),
            "placeholders": dict(self.placeholders),
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        """Return the whole setup as Markdown: sections with their documents and commands, then the steps."""
        lines = [f"# byos setup for {self.destination} ({self.provider})", ""]
        if self.placeholders:
            lines += ["**Replace before applying:**", ""]
            lines += [f"- `{marker}`: {meaning}" for marker, meaning in self.placeholders.items()]
            lines.append("")
        lines += [
            (
                "Save each document under its file name (or run `byos policy … --write DIR`), then run the "
                "commands from that folder."
            ),
            "",
        ]
        for section in self.sections:
            lines += [f"## {section.title}", "", section.text, ""]
            for name in section.documents:
                lines += [f"`{name}`:", "", "```json", json_text(self.documents[name]), "```", ""]
            if section.commands:
                lines += ["```sh", *section.commands, "```", ""]
        lines += ["## Steps for onboarding staff", ""]
        lines += [f"{number}. {step}" for number, step in enumerate(self.steps, start=1)]
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def write_files(self, directory: str | Path) -> list[Path]:
        """Write every document as ``DIRECTORY/<file name>`` (creating the folder); return the paths."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, content in self.documents.items():
            path = folder / name
            path.write_text(json_text(content) + "\n", encoding="utf-8")
            written.append(path)
        return written


def json_text(content: Any) -> str:  # noqa: ANN401  (any JSON document)
    """Render a JSON document as the files and the text output show it (two-space indent, UTF-8 kept)."""
    return json.dumps(content, indent=2, ensure_ascii=False)
