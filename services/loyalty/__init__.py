"""The bonus program: settings and tiers, the ledger, purchases, an admin's reversal, reading,
gifts, referrals, the birthday bonus, expiry, and merging two clients' accounts.

Every change of points is a ledger entry with a unique idempotency key, written in the same transaction
as the running balance on the client's account row. A debit is a conditional UPDATE
(`balance + delta >= 0`), so two redemptions at the same moment can't take the balance below zero (the
second waits for the first's row lock and then finds too little); a CHECK constraint backs it up.
Credits are lots that expire after the configured days; debits consume the oldest lots first.

One point is worth one unit of the default currency. A purchase: the amount (in DEFAULT_CURRENCY) less
the customer's tier discount is its value; up to `redeem_share` % of that value may be paid with points;
points are earned as `earn_percent` % of what is paid in money; the total spend (which sets the tier)
grows by the value.

Each section is a submodule; new code imports a name from the submodule that owns it. The names other
areas use are importable from here as well:
- on_linked(session, client, user, now): a customer's Telegram account was just linked to `client`.
- remember_referral(session, user, code, now) -> bool: `/start r_<code>`.
- merge_into(session, survivor, other, now) -> int: two client records are merged.
"""

from services.loyalty.birthday import (
    BIRTHDAY_HOUR,
    birthday_in,
    birthday_key,
    birthdays_due,
    grant_birthday,
)
from services.loyalty.expiry import (
    EXPIRE_BATCH,
    expire_due,
)
from services.loyalty.gifts import (
    GIFT_NAME_LIMIT,
    GIFT_TASK_AFTER,
    GiftRequested,
    add_gift,
    catalog,
    close_gift,
    customer_gifts,
    parse_gift,
    request_gift,
    toggle_gift,
)
from services.loyalty.ledger import (
    SERVICE,
    account,
    bonus,
    ensure_account,
    entry_exists,
    lock_account,
    post,
    tell_customer,
)
from services.loyalty.merging import (
    merge_into,
)
from services.loyalty.purchases import (
    Quote,
    Recorded,
    check_points,
    new_token,
    purchase_by_key,
    quote,
    quote_key,
    record_purchase,
)
from services.loyalty.reading import (
    EXPIRING_WINDOW,
    HISTORY_PAGE,
    LAST_ENTRIES,
    HistoryPage,
    Summary,
    customer_summary,
    history,
    staff_summary,
    summary,
)
from services.loyalty.referrals import (
    REFERRAL_PREFIX,
    customer_referral_code,
    on_linked,
    referral_code,
    remember_referral,
)
from services.loyalty.reversal import (
    REASON_LIMIT,
    parse_reversal,
    reverse,
)
from services.loyalty.settings import (
    CENT,
    DEFAULT_TIERS,
    HUNDRED,
    MAX_BONUS,
    MAX_EXPIRY_DAYS,
    MAX_POINTS,
    MAX_TIERS,
    SETTING_FIELDS,
    TIER_NAME_LIMIT,
    Program,
    Tier,
    parse_int,
    parse_percent,
    parse_setting,
    parse_tiers,
    program,
    set_setting,
    tiers_text,
)

__all__ = [
    "BIRTHDAY_HOUR",
    "CENT",
    "DEFAULT_TIERS",
    "EXPIRE_BATCH",
    "EXPIRING_WINDOW",
    "GIFT_NAME_LIMIT",
    "GIFT_TASK_AFTER",
    "HISTORY_PAGE",
    "HUNDRED",
    "LAST_ENTRIES",
    "MAX_BONUS",
    "MAX_EXPIRY_DAYS",
    "MAX_POINTS",
    "MAX_TIERS",
    "REASON_LIMIT",
    "REFERRAL_PREFIX",
    "SERVICE",
    "SETTING_FIELDS",
    "TIER_NAME_LIMIT",
    "GiftRequested",
    "HistoryPage",
    "Program",
    "Quote",
    "Recorded",
    "Summary",
    "Tier",
    "account",
    "add_gift",
    "birthday_in",
    "birthday_key",
    "birthdays_due",
    "bonus",
    "catalog",
    "check_points",
    "close_gift",
    "customer_gifts",
    "customer_referral_code",
    "customer_summary",
    "ensure_account",
    "entry_exists",
    "expire_due",
    "grant_birthday",
    "history",
    "lock_account",
    "merge_into",
    "new_token",
    "on_linked",
    "parse_gift",
    "parse_int",
    "parse_percent",
    "parse_reversal",
    "parse_setting",
    "parse_tiers",
    "post",
    "program",
    "purchase_by_key",
    "quote",
    "quote_key",
    "record_purchase",
    "referral_code",
    "remember_referral",
    "request_gift",
    "reverse",
    "set_setting",
    "staff_summary",
    "summary",
    "tell_customer",
    "tiers_text",
    "toggle_gift",
]
