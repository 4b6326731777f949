"""The web foundation shared by the village desk (`node.web.desk`) and the county console (`hub.web`).

Both are server-rendered Starlette apps with Jinja2 templates and plain HTML forms; every asset is
in `static/`, so a page works with the network unplugged. What they share lives here, once:

    app        `make_app`: templates (foundation + the app's own), static files, sessions, CSRF,
               friendly error pages (no traceback ever reaches an operator)
    tables     the local, non-replicated tables: accounts and sessions
    accounts   operator accounts: scrypt password hashes, roles and scopes, login records
    sessions   the session cookie and the CSRF token every POST must carry
    audit      the access log (`lw_audit`): full views of personal data, logins, saves
    forms      turning a posted form into domain fields and `InvalidValue` into per-field messages
    messages   Chinese words for fields, outcomes and times (local time, never UTC on screen)
    notices    what a page says after an action, kept on the server for one session, shown once
    masking    ID numbers, phones and sensitive fields as lists show them

Handlers are `async def` and touch the database on the event loop's thread: a `Store` is not
shared across threads, and a desk serves one operator at a time.
"""
