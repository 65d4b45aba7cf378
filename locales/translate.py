"""Refresh the catalogs from the code and fill in translations, safely while others do the same.

    .venv/bin/python locales/translate.py [FILE.json ...]

Each FILE.json maps an English msgid (exactly as in the code) to its Russian text, or to
{"ru": "...", "en": "..."} when the English catalog should differ from the msgid. The script, under a
lock on locales/.lock: extracts every message from the code into locales/messages.pot, merges it into
the ru and en catalogs (new messages come in empty, messages gone from the code go), applies the
given translations (English defaults to the msgid), compiles the .mo files and lists whatever is
still untranslated. Without files it only refreshes and reports.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LANGS = ("ru", "en")


def _pybabel(*args: str) -> None:
    subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "-m", "babel.messages.frontend", *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _load(files: list[str]) -> dict[str, dict[str, str]]:
    wanted: dict[str, dict[str, str]] = {}
    for name in files:
        data = json.loads(Path(name).read_text(encoding="utf-8"))
        for msgid, value in data.items():
            wanted[msgid] = value if isinstance(value, dict) else {"ru": value}
    return wanted


def main(files: list[str]) -> int:
    wanted = _load(files)
    with (HERE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _pybabel(
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "__",
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-o",
            "locales/messages.pot",
            ".",
        )
        with (HERE / "messages.pot").open("rb") as f:
            template = read_po(f)
        unknown = set(wanted)
        missing: dict[str, list[str]] = {}
        for lang in LANGS:
            po = HERE / lang / "LC_MESSAGES" / "messages.po"
            with po.open("rb") as f:
                catalog = read_po(f, locale=lang)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            for message in catalog:
                if not message.id or not isinstance(message.id, str):
                    continue
                given = wanted.get(message.id)
                if given is not None:
                    unknown.discard(message.id)
                    text = given.get(lang) or (message.id if lang == "en" else None)
                    if text:
                        message.string = text
                        message.flags.discard("fuzzy")
                if not message.string:
                    missing.setdefault(lang, []).append(message.id)
            with po.open("wb") as f:
                write_po(f, catalog, width=110, no_location=True, omit_header=False)
            with po.with_suffix(".mo").open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)
    for msgid in sorted(unknown):
        print(f"not in the code (check the spelling): {msgid!r}")
    for lang, ids in missing.items():
        print(f"{lang}: {len(ids)} untranslated")
        for msgid in ids:
            print(f"  {msgid!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
