"""Per-request trust checks cost one lookup (issue 13 item 6): a hub asks on every request whether
another process wrote a certificate or revocation, by a mark bumped with each one written, not by
counting lw_cert and lw_revocation; and a hello carrying a chain the hub holds writes nothing."""
from __future__ import annotations

from conftest import Backend
from hubkit import COUNTY, SIBLING, VILLAGE

from node.engine.store import Store
from node.sandbox import Sandbox


def _hub(backend: Backend, sandbox: Sandbox) -> Store:
    county = sandbox.members[COUNTY]
    return Store.create(backend.url("hub"), county.key, COUNTY, sandbox.root.public,
                        [sandbox.members["510000000000"].cert, county.cert])


def test_a_certificate_another_process_writes_is_taken_in_by_the_next_request(backend: Backend, sandbox: Sandbox) -> None:
    serving = _hub(backend, sandbox)
    cli = Store.open(serving.engine.url.render_as_string(hide_password=False), sandbox.members[COUNTY].key)
    try:
        assert not serving.reload_trust()
        cli.add_certificate(sandbox.members[VILLAGE].cert)
        assert VILLAGE not in {s for c in serving.trust.certs.values() for s in c.scopes}
        assert serving.reload_trust() and not serving.reload_trust()
        assert sandbox.members[VILLAGE].key.public in serving.trust.certs
    finally:
        cli.close()
        serving.close()


def test_a_chain_the_hub_already_holds_is_not_written_again(backend: Backend, sandbox: Sandbox) -> None:
    hub = _hub(backend, sandbox)
    try:
        chain = [sandbox.members["510000000000"].cert, sandbox.members[COUNTY].cert, sandbox.members[SIBLING].cert]
        hub.learn_certificates(chain)
        mark = hub._trust_mark
        assert mark is not None
        hub.learn_certificates(chain)  # what every hello of that village carries
        assert hub._trust_mark == mark and not hub.reload_trust()
    finally:
        hub.close()
