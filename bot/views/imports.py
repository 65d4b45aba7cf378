"""What /import shows: the file prompt, the file being read, what it holds, the columns' mapping and its
field choices, the dry run's progress and figures with the errors file, the apply's progress and its
result, and what a job that stopped for good left. Everything from the file (headers, cells, its
name) is escaped."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ImportAction, ImportCb
from bot.text import h
from bot.views.clients import client_error
from models.imports import Import, ImportStatus
from services.errors import DomainError
from services.imports import fields, reading, report
from services.imports.checking import Outcome

SHOWN_ERRORS = 5
HEADER_CHARS = 24
MAPPING_TEXT_LIMIT = 3900  # under Telegram's 4096 characters, with room for the HTML tags' escapes


def field_label(name: str) -> str:
    labels = {
        "name": _("Name"),
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "phone": _("Phone"),
        "email": _("Email"),
        "company": _("Company"),
        "position": _("Position"),
        "tags": _("Tags"),
        "status": _("Status"),
        "owner": _("Owner"),
        "birthday": _("Birthday"),
        "source": _("Source"),
        "note": _("Note"),
        "telegram_id": _("Telegram id"),
        "client_id": _("Client id"),
        "date": _("Date"),
        "amount": _("Amount"),
        "currency": _("Currency"),
    }
    return labels.get(name, name)


def kind_label(kind: str | None) -> str:
    return _("clients") if kind == fields.CLIENTS else _("purchases")


def error(e: DomainError) -> str:
    p = {k: h(v) for k, v in e.params.items()}
    texts = {
        "import_extension": lambda: _(
            "“{name}”: I can import only CSV (.csv) and Excel (.xlsx) files. An old .xls file: save it "
            "as .xlsx first."
        ).format(**p),
        "import_too_big": lambda: _("This file is too big: at most {limit} MB, please.").format(**p),
        "import_too_many_rows": lambda: _(
            "This file has more than {limit} rows. Split it into smaller files."
        ).format(**p),
        "import_too_many_columns": lambda: _(
            "Too many columns: {count}, at most {limit}. Keep only the columns to import."
        ).format(**p),
        "import_binary": lambda: _(
            "This isn't a text file, so not a CSV. Save the table as CSV (UTF-8) or .xlsx and send it again."
        ),
        "import_malformed": lambda: _("I couldn't read this CSV file: its quotes don't match."),
        "import_bad_xlsx": lambda: _("I couldn't open this spreadsheet. Save it as .xlsx and send it again."),
        "import_zip_bomb": lambda: _(
            "This .xlsx file unpacks to far more than a spreadsheet of 100,000 rows holds, "
            "so I won't open it."
        ),
        "import_no_rows": lambda: _("This file has no rows to import (a header row, then the data)."),
        "import_download": lambda: _("I couldn't download this file from Telegram. Please send it again."),
        "import_not_found": lambda: _("This import is no longer there. Send /import to start again."),
        "import_stale": lambda: _("This button is out of date. Here is the import as it is now."),
        "import_reading": lambda: _(
            "This file is still being read: what it holds will be shown in a moment."
        ),
        "import_checking": lambda: _("This file is being checked already: the result will be shown here."),
        "import_applying": lambda: _("This import is already being applied."),
        "import_done": lambda: _("This import has been applied already; nothing was added twice."),
        "import_cancelled": lambda: _("This import was cancelled. Send /import to start again."),
        "import_failed": lambda: _("This import stopped with an error. Send /import to start again."),
        "import_expired": lambda: expired_text(),
        "import_missing_field": lambda: _(
            "No column is mapped to “{field}” yet, and the import needs it. Press a column to choose."
        ).format(field=h(field_label(str(e.params.get("field", ""))))),
        "import_send_file": lambda: _(
            "Please send the table as a file (📎 → File): CSV or XLSX, up to 100,000 rows and 20 MB."
        ),
    }
    make = texts.get(e.code)
    return make() if make else reason(e)


def reason(e: DomainError) -> str:
    """Why a row can't be imported."""
    p = {k: h(v) for k, v in e.params.items()}
    texts = {
        "import_formula": lambda: _("a formula without a saved value in “{column}”").format(**p),
        "import_unknown_owner": lambda: _("no active manager or admin “{value}”").format(**p),
        "import_bad_status": lambda: _("unknown status “{value}” (prospect, active or inactive)").format(**p),
        "import_bad_telegram_id": lambda: _("“{value}” is not a Telegram id").format(**p),
        "import_bad_client_id": lambda: _("“{value}” is not a client id").format(**p),
        "import_no_client": lambda: _("no client id, phone or email"),
        "import_client_not_found": lambda: _("no client “{value}”").format(**p),
        "import_not_your_client": lambda: _("“{value}” is another manager's client").format(**p),
        "import_no_date": lambda: _("no date"),
        "import_future_date": lambda: _("the date “{value}” is in the future").format(**p),
        "import_bad_amount": lambda: _("“{value}” is not an amount above zero").format(**p),
        "import_bad_currency": lambda: _("“{value}” is not a currency code like RUB or USD").format(**p),
        "bad_date": lambda: _(
            "“{value}” is not a date (YYYY-MM-DD, DD.MM.YYYY or DD/MM/YYYY), or it is in the future"
        ).format(**p),
        "empty": lambda: _("no name"),
    }
    make = texts.get(e.code)
    return make() if make else client_error(e)


def plain_reason(e: DomainError) -> str:
    """The reason for the errors file: the same words without HTML escaping."""
    text = reason(DomainError(e.code, **{k: str(v) for k, v in e.params.items()}))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def ask_file() -> str:
    return _(
        "📥 <b>Import</b>\n\nSend a CSV or XLSX file with clients or purchases: a header row, then the "
        "data; up to 100,000 rows and 20 MB. Columns are recognised by their headers (in Russian or "
        "English); you'll see how they are mapped before anything is written."
    )


def cancel_keyboard() -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    b.button(text=_("✖️ Cancel"), callback_data=ImportCb(action=ImportAction.cancel))
    return b.as_markup()


def _file_line(imp: Import) -> str:
    details = [_("{rows} rows, {columns} columns").format(rows=imp.rows, columns=len(imp.headers))]
    if imp.file_format == "csv":
        delimiter = {",": _("comma"), ";": _("semicolon"), "\t": _("tab")}.get(imp.delimiter or ",", "?")
        details.append(f"{imp.encoding}, {delimiter}")
    return _("📄 <b>{name}</b>: {details}").format(name=h(imp.file_name), details="; ".join(details))


def reading_text(imp: Import) -> str:
    return _("⏳ Reading <b>{name}</b>… I'll show what it holds in a moment.").format(name=h(imp.file_name))


def read_failed_text(e: DomainError) -> str:
    """The read job couldn't read the file (the person's dialog is over by then)."""
    return error(e) + "\n\n" + _("Send the file again with /import.")


def kind_prompt(imp: Import) -> str:
    return _file_line(imp) + "\n\n" + _("What does the file hold?")


def kind_keyboard(imp: Import) -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    for i, label in enumerate((_("👥 Clients"), _("🛒 Purchases"))):
        b.button(
            text=label, callback_data=ImportCb(action=ImportAction.kind, id=imp.id, v=imp.version, arg=i)
        )
    b.button(text=_("✖️ Cancel"), callback_data=ImportCb(action=ImportAction.cancel, id=imp.id, v=imp.version))
    b.adjust(2, 1)
    return b.as_markup()


def _header(imp: Import, column: int) -> str:
    text = str(imp.headers[column]) or _("column {n}").format(n=column + 1)
    return text if len(text) <= HEADER_CHARS else text[: HEADER_CHARS - 1] + "…"


def mapping_text(imp: Import, sample: Sequence[str], *, examples: bool = True) -> str:
    lines = [
        _file_line(imp),
        _("Importing: {kind}. How the columns are read:").format(kind=kind_label(imp.kind)),
        "",
    ]
    for i, name in enumerate(imp.mapping):
        example = sample[i] if examples and i < len(sample) and sample[i] != reading.FORMULA else ""
        example = example if len(example) <= 30 else example[:29] + "…"
        target = f"<b>{h(field_label(name))}</b>" if name else _("— ignored")
        line = f"{i + 1}. {h(_header(imp, i))} → {target}"
        if example:
            line += f"  <i>({h(example)})</i>"
        lines.append(line)
    absent = fields.missing(imp.kind or fields.CLIENTS, list(imp.mapping))
    lines.append("")
    if absent:
        names = ", ".join(field_label(a) for a in absent)
        lines.append(_("⚠️ Still needed: {fields}.").format(fields=h(names)))
    lines.append(_("Press a column to change what it is, then 🔍 Check: a dry run that writes nothing."))
    text = "\n".join(lines)
    if examples and len(text) > MAPPING_TEXT_LIMIT:  # many columns: the examples make way
        return mapping_text(imp, sample, examples=False)
    return text


def mapping_keyboard(imp: Import) -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    for i, name in enumerate(imp.mapping):
        mark = "✏️" if name else "⛔"
        b.button(
            text=f"{mark} {i + 1}. {_header(imp, i)}",
            callback_data=ImportCb(action=ImportAction.col, id=imp.id, v=imp.version, col=i),
        )
    b.adjust(2)
    actions = InlineKeyboardBuilder()
    actions.button(
        text=_("🔍 Check"), callback_data=ImportCb(action=ImportAction.check, id=imp.id, v=imp.version)
    )
    actions.button(
        text=_("✖️ Cancel"), callback_data=ImportCb(action=ImportAction.cancel, id=imp.id, v=imp.version)
    )
    b.attach(actions)
    return b.as_markup()


def field_prompt(imp: Import, column: int, sample: Sequence[str]) -> str:
    example = sample[column] if column < len(sample) and sample[column] != reading.FORMULA else ""
    text = _("Column {n} “{header}”").format(n=column + 1, header=h(_header(imp, column)))
    if example:
        text += " " + _("(e.g. “{value}”)").format(value=h(example[:60]))
    return text + "\n\n" + _("What is in this column?")


def field_keyboard(imp: Import, column: int) -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    current = imp.mapping[column]
    for i, name in enumerate(fields.FIELDS[imp.kind or fields.CLIENTS]):
        text = ("✅ " if name == current else "") + field_label(name)
        b.button(
            text=text,
            callback_data=ImportCb(action=ImportAction.map, id=imp.id, v=imp.version, col=column, arg=i),
        )
    b.button(
        text=("✅ " if current is None else "") + _("⛔ Ignore"),
        callback_data=ImportCb(action=ImportAction.map, id=imp.id, v=imp.version, col=column, arg=-1),
    )
    b.button(text=_("⬅️ Back"), callback_data=ImportCb(action=ImportAction.back, id=imp.id, v=imp.version))
    b.adjust(2)
    return b.as_markup()


def checking_text(imp: Import, done: int | None = None) -> str:
    """The dry run's progress: the rows checked so far (None: not known here)."""
    if done is None:
        return _("🔍 Checking the rows of <b>{name}</b> ({kind})…").format(
            name=h(imp.file_name), kind=kind_label(imp.kind)
        )
    return _("🔍 Checking the rows of <b>{name}</b> ({kind}): {done} of {total}…").format(
        name=h(imp.file_name), kind=kind_label(imp.kind), done=done, total=imp.rows
    )


def check_failed_text(imp: Import, sample: Sequence[str]) -> str:
    return (
        _("⚠️ The check stopped with an error; nothing was written. Press 🔍 Check to try again.")
        + "\n\n"
        + mapping_text(imp, sample)
    )


def dry_run_text(imp: Import, outcome: Outcome | None = None) -> str:
    lines = [
        _file_line(imp),
        _("🔍 <b>Dry run</b> ({kind}) — nothing is written yet:").format(kind=kind_label(imp.kind)),
        _("➕ To add: {n}").format(n=imp.to_add),
        _("♻️ Already known: {n}").format(n=imp.known),
        _("⚠️ Invalid: {n}").format(n=imp.invalid),
    ]
    if outcome is not None and outcome.invalid:
        lines.append("")
        for row_no, e in outcome.invalid[:SHOWN_ERRORS]:
            lines.append(_("Row {row}: {reason}").format(row=row_no, reason=reason(e)))
        if len(outcome.invalid) > SHOWN_ERRORS:
            lines.append(
                _("…and {n} more: every one is in the errors file.").format(
                    n=len(outcome.invalid) - SHOWN_ERRORS
                )
            )
    if imp.kind == fields.PURCHASES:
        lines.append("")
        lines.append(
            _("Imported purchases are history: their amount as given, no tier discount, no points.")
            if not imp.credit_points
            else _("Points will be credited for purchases in the default currency, as for a new purchase.")
        )
    if imp.to_add:
        lines.append("")
        lines.append(_("Press ▶️ Apply to write the {n} new rows.").format(n=imp.to_add))
    else:
        lines.append("")
        lines.append(_("There is nothing new to add."))
    return "\n".join(lines)


def dry_run_keyboard(imp: Import, admin: bool) -> InlineKeyboardMarkup:
    b = InlineKeyboardBuilder()
    if imp.to_add:
        b.button(
            text=_("▶️ Apply"), callback_data=ImportCb(action=ImportAction.apply, id=imp.id, v=imp.version)
        )
    if imp.kind == fields.PURCHASES and admin:
        mark = "☑️" if imp.credit_points else "⬜"
        b.button(
            text=_("{mark} Credit points").format(mark=mark),
            callback_data=ImportCb(action=ImportAction.credit, id=imp.id, v=imp.version),
        )
    b.button(
        text=_("✏️ Change the mapping"),
        callback_data=ImportCb(action=ImportAction.back, id=imp.id, v=imp.version),
    )
    b.button(text=_("✖️ Cancel"), callback_data=ImportCb(action=ImportAction.cancel, id=imp.id, v=imp.version))
    b.adjust(1)
    return b.as_markup()


def errors_file(imp: Import, outcome: Outcome, rows: dict[int, list[str]]) -> bytes:
    return report.errors_csv(
        [str(x) for x in imp.headers], [(n, plain_reason(e), rows.get(n, [])) for n, e in outcome.invalid]
    )


def errors_caption(imp: Import) -> str:
    return _("⚠️ Rows that can't be imported, with the reason for each: {n}.").format(n=imp.invalid)


def progress_text(imp: Import) -> str:
    processed = imp.added + imp.skipped_known + imp.skipped_invalid  # the rows of committed batches
    return _("⏳ Importing {kind} from <b>{name}</b>: {done} of {total} rows done…").format(
        kind=kind_label(imp.kind), name=h(imp.file_name), done=processed, total=imp.rows
    )


def done_text(imp: Import) -> str:
    lines = [
        _("✅ <b>Import finished</b>: {kind} from {name}.").format(
            kind=kind_label(imp.kind), name=h(imp.file_name)
        ),
        _("➕ Added: {n}").format(n=imp.added),
        _("♻️ Already known, skipped: {n}").format(n=imp.skipped_known),
        _("⚠️ Invalid, skipped: {n}").format(n=imp.skipped_invalid),
    ]
    if imp.kind == fields.CLIENTS and imp.added:
        lines.append(_("Find them with /find or /clients."))
    return "\n".join(lines)


def failed_text(imp: Import) -> str:
    """An apply that stopped for good: what its committed batches wrote stays, the rest was not applied."""
    processed = imp.added + imp.skipped_known + imp.skipped_invalid
    lines = [
        _("❌ <b>The import stopped with an error</b>: {kind} from {name}.").format(
            kind=kind_label(imp.kind), name=h(imp.file_name)
        ),
        _("{done} of {total} rows were processed:").format(done=processed, total=imp.rows),
        _("➕ Added: {n}").format(n=imp.added),
        _("♻️ Already known, skipped: {n}").format(n=imp.skipped_known),
        _("⚠️ Invalid, skipped: {n}").format(n=imp.skipped_invalid),
        _("The other {n} rows were not applied. Send /import to import them.").format(
            n=max(imp.rows - processed, 0)
        ),
    ]
    return "\n".join(lines)


def cancelled_text() -> str:
    return _("Import cancelled. Nothing was written.")


def expired_text() -> str:
    return _(
        "This import was left unfinished for a week, so its rows were dropped. Send /import to start again."
    )


def state_text(imp: Import, sample: Sequence[str]) -> str:
    """The import's current screen (after a stale button)."""
    if imp.status == ImportStatus.done:
        return done_text(imp)
    if imp.status == ImportStatus.applying:
        return progress_text(imp)
    if imp.status == ImportStatus.cancelled:
        return cancelled_text()
    if imp.status == ImportStatus.expired:
        return expired_text()
    if imp.status == ImportStatus.reading:
        return reading_text(imp)
    if imp.status == ImportStatus.checking:
        return checking_text(imp)
    if imp.status == ImportStatus.failed:
        return failed_text(imp) if imp.kind else error(DomainError("import_failed"))
    if imp.kind is None:
        return kind_prompt(imp)
    if imp.status == ImportStatus.checked and imp.checked_version == imp.version:
        return dry_run_text(imp)
    return mapping_text(imp, sample)


def state_keyboard(imp: Import, admin: bool) -> InlineKeyboardMarkup | None:
    if imp.status not in (ImportStatus.read, ImportStatus.checked):
        return None
    if imp.kind is None:
        return kind_keyboard(imp)
    if imp.status == ImportStatus.checked and imp.checked_version == imp.version:
        return dry_run_keyboard(imp, admin)
    return mapping_keyboard(imp)
