"""The county and province console: the hub's own staff screens, served by `laowu-hub serve` at /console/.

Built on the web foundation in `node.web` (layout, styles, accounts, sessions, CSRF, access log,
masking): this package holds only the console's routes and templates. Every page reads the hub's
store and shows what lies inside the signed-in account's scope (`scoped`): county staff see their
county, province staff all, a township or village account its own subtree. Every action is a call
into the module that owns it (`hub.enroll`, `node.sync.bundles`, the store's quarantine release, the
identity resolutions) and is written to the access log (`lw_audit`), which the console shows.

    console.py    the console app, mounted by `hub.app.create_app`
    app.py        what pages share: the prefix, navigation, the hub they serve from, its write lock
    scoped.py     what an account may see: places inside its scope, checked on every request
    enrollment.py requests (file or online), approve / refuse, one-time codes, re-key, revoke
    conflicts.py  the semantic-conflict queue, side by side, and its resolutions
    held.py       quarantine, forks, pending and blocked villages; release or decline
    bundles.py    USB bundles imported at the hub
    figures.py    the dashboard: placements, updates, brokers, sync health, filings
    people.py     one person's card, masked; the full view with a reason, logged
"""
