"""Reading volunteers from a CSV or Excel sheet and checking every row before anything is sent.

Pure functions: a sheet becomes ``RawRow``s (line number and cells by column), each row becomes
either the keyword arguments of ``volunteers.create_volunteer`` or the reasons it is rejected.
Column headers may be English or Chinese (姓名, 电话, ...). Teams may be given by code or by name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from guanyinli.schemas import PHONE_RE

# header as written in the sheet (lower-cased, trimmed) -> argument of create_volunteer
HEADERS: dict[str, str] = {
    "name": "name",
    "姓名": "name",
    "phone": "phone",
    "mobile": "phone",
    "电话": "phone",
    "手机": "phone",
    "手机号": "phone",
    "email": "email",
    "e-mail": "email",
    "邮箱": "email",
    "teams": "teams",
    "team": "teams",
    "队伍": "teams",
    "志愿队": "teams",
    "grid": "grid_id",
    "grid_id": "grid_id",
    "网格": "grid_id",
    "alliance": "alliance",
    "联盟": "alliance",
    "skills": "skills",
    "技能": "skills",
    "资质": "skills",
}
REQUIRED = ("name", "phone")
LIST_SEPARATORS = re.compile(r"[;,，；、|]")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SKILL_RE = re.compile(r"^[\w:.-]{1,50}$")
MAX_ROWS = 5000


@dataclass(frozen=True)
class RawRow:
    line: int  # line in the file (the header is line 1)
    cells: Mapping[str, str]  # argument name -> text as found


@dataclass
class Checked:
    line: int
    data: dict | None = None  # keyword arguments for create_volunteer when accepted
    errors: list[str] = field(default_factory=list)
    name: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Reference:
    """What a row is checked against, as the volunteers service reports it."""

    teams: Mapping[str, str]  # code or name (any language, lower-cased) -> team code
    grids: frozenset[int]
    alliances: Mapping[str, str] = field(default_factory=dict)  # empty: not checked here

    @classmethod
    def from_lists(cls, teams: Iterable[Mapping], grids: Iterable[Mapping], alliances: Iterable[Mapping] = ()):
        return cls(teams=_aliases(teams), grids=frozenset(int(g["id"]) for g in grids), alliances=_aliases(alliances))


def _aliases(items: Iterable[Mapping]) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items:
        code = str(item["code"])
        for key in ("code", "name", "name_zh"):
            if item.get(key):
                found[str(item[key]).strip().lower()] = code
    return found


class SheetError(ValueError):
    """The file as a whole cannot be read (format, missing columns)."""


def read_sheet(path: Path) -> list[RawRow]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path.read_bytes())
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    raise SheetError(f"{path.name}: only .csv and .xlsx files can be imported")


def read_csv(content: bytes) -> list[RawRow]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")  # sheets saved by Excel on Chinese Windows
        except UnicodeDecodeError:
            raise SheetError("the file is neither UTF-8 nor GB18030 text") from None
    rows = list(csv.reader(io.StringIO(text)))
    return _rows(rows)


def read_xlsx(path: Path) -> list[RawRow]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise SheetError(f"{path.name}: not a readable Excel file ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        rows = [["" if v is None else _cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    return _rows(rows)


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed as a number
    return str(value)


def _rows(rows: list[list[str]]) -> list[RawRow]:
    if not rows:
        raise SheetError("the file is empty")
    header = [h.strip().lower() for h in rows[0]]
    columns: dict[int, str] = {}
    unknown = []
    for index, name in enumerate(header):
        if not name:
            continue
        if name not in HEADERS:
            unknown.append(name)
            continue
        columns[index] = HEADERS[name]
    if unknown:
        raise SheetError(f"unknown columns: {', '.join(unknown)} (known: {', '.join(sorted(set(HEADERS)))})")
    missing = [r for r in REQUIRED if r not in columns.values()]
    if missing:
        raise SheetError(f"missing columns: {', '.join(missing)}")
    if len(rows) - 1 > MAX_ROWS:
        raise SheetError(f"at most {MAX_ROWS} rows per import, the file has {len(rows) - 1}")
    found = []
    for offset, row in enumerate(rows[1:], start=2):
        cells = {columns[i]: (row[i] if i < len(row) else "").strip() for i in columns}
        if any(cells.values()):
            found.append(RawRow(offset, cells))
    return found


def check_row(row: RawRow, ref: Reference) -> Checked:
    """Turn one row into create_volunteer arguments, or say every reason it cannot be."""
    cells = row.cells
    result = Checked(line=row.line, name=cells.get("name", ""))
    data: dict = {}
    errors = result.errors

    name = cells.get("name", "")
    if not name:
        errors.append("name: missing")
    elif len(name) > 100:
        errors.append("name: longer than 100 characters")
    else:
        data["name"] = name

    phone = cells.get("phone", "").replace(" ", "")
    if not phone:
        errors.append("phone: missing")
    elif not PHONE_RE.match(phone):
        errors.append(f"phone: not a phone number: {cells['phone']!r}")
    else:
        data["phone"] = phone

    email = cells.get("email", "")
    if email:
        if EMAIL_RE.match(email):
            data["email"] = email
        else:
            errors.append(f"email: not an e-mail address: {email!r}")

    teams = [t.strip() for t in LIST_SEPARATORS.split(cells.get("teams", "")) if t.strip()]
    codes = []
    for team in teams:
        code = ref.teams.get(team.lower())
        if code is None:
            errors.append(f"teams: unknown team {team!r}")
        elif code not in codes:
            codes.append(code)
    if codes:
        data["teams"] = codes

    grid = cells.get("grid_id", "")
    if grid:
        number = grid.upper().removeprefix("G").lstrip("0") or "0"
        if not number.isdigit() or int(number) not in ref.grids:
            errors.append(f"grid_id: no grid {grid!r} (grids are {min(ref.grids)}..{max(ref.grids)})")
        else:
            data["grid_id"] = int(number)

    alliance = cells.get("alliance", "")
    if alliance:
        code = ref.alliances.get(alliance.lower()) if ref.alliances else alliance
        if code is None:
            errors.append(f"alliance: unknown alliance {alliance!r}")
        else:
            data["alliance"] = code

    skills = [s.strip() for s in LIST_SEPARATORS.split(cells.get("skills", "")) if s.strip()]
    bad = [s for s in skills if not SKILL_RE.match(s)]
    if bad:
        errors.append(f"skills: not a skill code: {', '.join(repr(s) for s in bad)}")
    elif skills:
        data["skills"] = skills

    if not errors:
        result.data = data
    return result


def check_rows(rows: Iterable[RawRow], ref: Reference) -> list[Checked]:
    """Check each row, and reject later rows repeating a phone number of an earlier one."""
    checked = []
    seen: dict[str, int] = {}
    for row in rows:
        result = check_row(row, ref)
        phone = (result.data or {}).get("phone")
        if phone:
            key = phone.removeprefix("+86").replace("-", "")
            if key in seen:
                result.errors.append(f"phone: same number as line {seen[key]}")
                result.data = None
            else:
                seen[key] = row.line
        checked.append(result)
    return checked
