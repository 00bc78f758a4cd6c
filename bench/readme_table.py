"""Put a benchmark's latest table into bench/README.md, between its two markers."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).with_name("README.md")


def write_table(name: str, text: str) -> Path:
    """Replace what stands between ``<!-- {name}-start -->`` and ``<!-- {name}-end -->``."""
    start, end = f"<!-- {name}-start -->", f"<!-- {name}-end -->"
    content = README.read_text(encoding="utf-8")
    head, rest = content.split(start, 1)
    _, tail = rest.split(end, 1)
    README.write_text(f"{head}{start}\n{text}\n{end}{tail}", encoding="utf-8")
    return README


def report(name: str, text: str, write: bool) -> None:
    """Print a benchmark's table; on a full run (``write``) put it into the README too."""
    print()
    print(text)
    if write:
        readme = write_table(name, text)
        print(f"\nwrote the table into bench/{readme.name}")
