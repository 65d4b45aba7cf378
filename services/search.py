"""Client search: normalised words in `client_search_terms`, phone tails in `client_phones`.

Normalising a word: casefold, ё→е, every character that isn't a letter or a digit separates words.
A client's terms are the words of their name, company, tags and email local part and domain, plus
the whole email. Every query is an index range scan: `term >= p AND term < p || U+10FFFF` over
(owner_id, term) for a manager and over (term) for an admin; never a full scan or `LIKE '%...'`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, and_, delete, exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.clients import Client, ClientPhone, ClientSearchTerm, ClientTag
from services import phones

TERM_LIMIT = 100  # the column's length
MAX_QUERY_WORDS = 6
SELECTIVITY_CAP = 200
TOP = "\U0010ffff"  # sorts after every character: [p, p + TOP) is "starts with p"
_SEPARATORS = re.compile(r"[^\w]+|_+")


def fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


def words(text: str | None) -> list[str]:
    """Normalised words of a text, in order, without repeats."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for word in _SEPARATORS.split(fold(text)):
        if word:
            seen.setdefault(word[:TERM_LIMIT], None)
    return list(seen)


def same_text(a: str | None, b: str | None) -> bool:
    """Equal up to case, ё/е, punctuation and spacing (used to spot likely duplicates)."""
    return words(a) == words(b)


def duplicate_key(name: str | None, company: str | None) -> str | None:
    """Clients with the same key are likely duplicates: the same name and company (see same_text).

    A lone first name without a company ("Иван") says too little to call two records the same person,
    so it has no key. The key is a hash, so it fits a small index whatever the lengths.
    """
    name_words, company_words = words(name), words(company)
    if not name_words or (len(name_words) < 2 and not company_words):
        return None
    text = " ".join(name_words) + "\n" + " ".join(company_words)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def terms_of(client: Client, tags: Iterable[str] = ()) -> set[str]:
    terms: set[str] = set()
    terms.update(words(client.name))
    terms.update(words(client.company))
    for tag in tags:
        terms.update(words(tag))
    if client.email:
        email = fold(client.email)
        local, _, domain = email.partition("@")
        terms.add(email[:TERM_LIMIT])
        terms.update(words(local))
        terms.update(words(domain))
        if domain:
            terms.add(domain[:TERM_LIMIT])
    return terms


async def rebuild_terms(session: AsyncSession, client: Client, tags: Iterable[str] | None = None) -> None:
    """Replace the client's search terms with what its name, company, tags and email say now."""
    if tags is None:
        tags = [t.tag for t in client.tags]
    await session.execute(delete(ClientSearchTerm).where(ClientSearchTerm.client_id == client.id))
    rows = [
        {"client_id": client.id, "owner_id": client.owner_id, "term": term}
        for term in sorted(terms_of(client, tags))
    ]
    if rows:
        await session.execute(insert(ClientSearchTerm), rows)


async def drop_terms(session: AsyncSession, client_id: int) -> None:
    await session.execute(delete(ClientSearchTerm).where(ClientSearchTerm.client_id == client_id))


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed /find text: a phone tail, or words (all must match), plus exact #tags."""

    phone_prefix: str | None = None
    words: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.phone_prefix or self.words or self.tags)


def parse_query(text: str, region: str) -> Query:
    text = " ".join(text.split())[:200]
    prefix = phones.search_prefix(text, region)
    if prefix is not None:
        return Query(phone_prefix=prefix)
    found: list[str] = []
    tags: list[str] = []
    for token in text.split():
        if token.startswith("#") and len(token) > 1:
            tag = normalize_tag(token)
            if tag:
                tags.append(tag)
                found.extend(words(tag))  # tags are terms too: the words drive the index scan
            continue
        if "@" in token:
            email = fold(token).strip(".,;:!?()<>\"'«»")
            if email:
                found.append(email[:TERM_LIMIT])
            continue
        found.extend(words(token))
    # Longest first (a first guess at the rarest); find_ids weighs them against the index.
    unique = sorted(dict.fromkeys(found), key=lambda w: (-len(w), w))[:MAX_QUERY_WORDS]
    return Query(words=tuple(unique), tags=tuple(dict.fromkeys(tags)))


def normalize_tag(raw: str) -> str:
    """A tag as stored: lower case, ё→е, no leading #, words joined by "_", at most 50 characters."""
    return "_".join(words(raw.lstrip("#")))[:50]


def _prefix(column, value: str):
    return and_(column >= value, column < literal(value + TOP, type_=column.type))


def _probe_prefix(column, value: str):
    """The same test, for a per-client probe: `term || ''` can't use the term index, so the probe is
    always a lookup of the client's few terms through (client_id, term). PostgreSQL estimates a
    Cyrillic prefix range as one row and would otherwise scan the whole range once per candidate."""
    unindexed = column.concat("")
    return and_(unindexed >= value, unindexed < literal(value + TOP, type_=column.type))


async def find_ids(
    session: AsyncSession, query: Query, owner_id: int | None, *, offset: int, limit: int
) -> list[int]:
    """Ids of matching clients in a stable order (by the matched term, then id).

    `owner_id` None means every owner (admins). Each client appears once: a row counts only for the
    client's first term matching the driving word (checked through the (client_id, term) index).
    """
    stmt = await find_statement(session, query, owner_id, offset=offset, limit=limit)
    if stmt is None:
        return []
    return list((await session.scalars(stmt)).all())


async def find_statement(
    session: AsyncSession, query: Query, owner_id: int | None, *, offset: int, limit: int
) -> Select | None:
    """The SELECT behind find_ids: (client_id, sort key) rows in their order, or None when nothing
    can match. Callers may use it as a subquery (the client's list row is then the same round trip)."""
    if query.phone_prefix:
        return _by_phone(query.phone_prefix, owner_id, offset=offset, limit=limit)
    if query.words:
        ranked = await by_selectivity(session, query.words, owner_id)
        if not ranked:
            return None
        return _by_words(ranked, query.tags, owner_id, offset=offset, limit=limit)
    return None


def _tag_filters(client_id_col, tags: Iterable[str]) -> list:
    filters = []
    for i, tag in enumerate(tags):
        other = aliased(ClientTag, name=f"tg{i}")
        filters.append(exists().where(other.client_id == client_id_col, other.tag == tag))
    return filters


async def by_selectivity(
    session: AsyncSession, words: Iterable[str], owner_id: int | None
) -> list[str] | None:
    """The words, rarest first (the rarest drives the scan; the others are index probes per row), or
    None when one of them matches nothing at all. Each count reads at most SELECTIVITY_CAP index
    entries, so a common word ("компания") costs as little as a rare one to weigh.
    """
    words = list(words)
    if len(words) < 2:
        return words
    capped = []
    for word in words:
        rows = select(ClientSearchTerm.client_id).where(_prefix(ClientSearchTerm.term, word))
        if owner_id is not None:
            rows = rows.where(ClientSearchTerm.owner_id == owner_id)
        capped.append(
            select(func.count()).select_from(rows.limit(SELECTIVITY_CAP).subquery()).scalar_subquery()
        )
    # One round trip for all the words.
    counts = dict(zip(words, (await session.execute(select(*capped))).one(), strict=True))
    if not all(counts.values()):
        return None
    return sorted(words, key=lambda w: (counts[w], -len(w), w))


def _by_words(
    ranked: list[str], tags: Iterable[str], owner_id: int | None, *, offset: int, limit: int
) -> Select:
    t = aliased(ClientSearchTerm, name="t")
    first, *rest = ranked
    earlier = aliased(ClientSearchTerm, name="d")
    conditions = [
        _prefix(t.term, first),
        ~exists().where(earlier.client_id == t.client_id, earlier.term >= first, earlier.term < t.term),
    ]
    if owner_id is not None:
        conditions.insert(0, t.owner_id == owner_id)
    for i, word in enumerate(rest):
        other = aliased(ClientSearchTerm, name=f"w{i}")
        conditions.append(exists().where(other.client_id == t.client_id, _probe_prefix(other.term, word)))
    conditions += _tag_filters(t.client_id, tags)
    return (
        select(t.client_id, t.term.label("sort_key"))
        .where(*conditions)
        .order_by(t.term, t.client_id)
        .offset(offset)
        .limit(limit)
    )


def _by_phone(prefix: str, owner_id: int | None, *, offset: int, limit: int) -> Select:
    p = aliased(ClientPhone, name="p")
    earlier = aliased(ClientPhone, name="e")
    # digits_reversed is unique (it is the E.164 number backwards), so it alone orders the results.
    stmt = (
        select(p.client_id, p.digits_reversed.label("sort_key"))
        .where(
            _prefix(p.digits_reversed, prefix),
            ~exists().where(
                earlier.client_id == p.client_id,
                earlier.digits_reversed >= prefix,
                earlier.digits_reversed < p.digits_reversed,
            ),
        )
        .order_by(p.digits_reversed)
        .offset(offset)
        .limit(limit)
    )
    if owner_id is not None:
        stmt = stmt.join(Client, Client.id == p.client_id).where(Client.owner_id == owner_id)
    return stmt
