"""Every user-facing string is translated into Russian and English, and the catalogs are current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, compile_catalogs, create_i18n

ROOT = Path(__file__).resolve().parents[2]


def catalog(lang: str):
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def extracted(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_",
            "-k",
            "__",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_every_message_in_code_is_translated_in_both_languages(tmp_path: Path):
    in_code = extracted(tmp_path)
    assert in_code, "extraction found nothing"
    for lang in ("ru", "en"):
        cat = catalog(lang)
        missing = sorted(m for m in in_code if not (cat.get(m) and cat.get(m).string))
        assert not missing, f"{lang}: {len(missing)} messages lack a translation: {missing[:10]}"
        fuzzy = sorted(m.id for m in cat if m.id and m.fuzzy)
        assert not fuzzy, f"{lang}: fuzzy translations: {fuzzy[:5]}"


def test_placeholders_match_between_languages():
    ru = catalog("ru")
    for message in ru:
        if not message.id:
            continue
        want = sorted(re.findall(r"\{\w+\}", message.id))
        got = sorted(re.findall(r"\{\w+\}", message.string))
        assert want == got, f"placeholders differ for {message.id!r}: {got}"


def test_catalogs_compile_and_russian_comes_first(tmp_path: Path):
    compile_catalogs(force=True)
    i18n = create_i18n("ru")
    assert i18n.gettext("Nothing to cancel.", locale="ru") == "Отменять нечего."
    assert i18n.gettext("Nothing to cancel.", locale="en") == "Nothing to cancel."


def test_pybabel_compile_reports_no_error():
    """What `make run` prints on every start: a message babel takes for a printf format ("{n}% of" reads
    as "% o") with a translation that isn't one is an error there."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "compile",
            "--use-fuzzy",
            "-d",
            str(LOCALES_DIR),
            "-D",
            "messages",
            "--statistics",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "error" not in output.lower(), output


def test_no_message_is_marked_inside_an_f_string():
    """pybabel can't see `_()` inside an f-string: such a message is never extracted, so it drops out
    of the catalogs and shows in English to everyone (it happened once)."""
    root = ROOT
    pattern = re.compile(r"\{_{1,2}\(")
    found = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("bot", "handlers", "services", "scheduler")
        for path in (root / folder).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found
