"""Made-up personal data, and the search for it at rest: the embedded and production privacy tests."""

from __future__ import annotations

import stat
import uuid
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class MadeUpPerson:
    """Unique enough that finding any of it anywhere can only mean it was kept."""

    name: str
    phone: str
    street: str
    condition: str

    @classmethod
    def new(cls) -> MadeUpPerson:
        unique = uuid.uuid4().hex[:6]
        return cls(
            name=f"Zanzibar Okoro{unique}",
            phone="020 7946 0" + str(int(unique, 16) % 1000).zfill(3),
            street=f"Quincewood{unique} Terrace",
            condition=f"Wexler{unique} syndrome",
        )

    def needles(self) -> list[str]:
        surname = self.name.split()[-1]
        return [self.name, surname, self.phone, self.phone.replace(" ", ""), self.street.split()[0],
                self.condition.split()[0]]  # fmt: skip


def assert_var_is_private_and_holds_none_of(var: Path, needles: list[str]) -> None:
    """Every file and folder under var/ is owner-only, and no file holds any needle in plain text."""
    for path in [var, *var.rglob("*")]:
        if path.is_symlink() or not path.exists():
            continue  # a socket's link, or a SQLite journal gone meanwhile
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.relative_to(var)} is readable by others ({oct(mode)})"
        if path.is_file():
            content = path.read_bytes()
            for needle in needles:
                assert needle.encode() not in content, f"{path.relative_to(var)} holds {needle!r}"
