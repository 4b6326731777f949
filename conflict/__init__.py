"""Merge policies: pure functions from (current field state, incoming change) to new state.

Theory of operation. Every replica holds, per row, one *state* per field plus an optional
tombstone. A state is a join-semilattice element: merging an incoming change is commutative,
associative and idempotent, so replicas that saw the same set of changes - in any order, with any
duplicates, in any batching - hold equal states (proven in tests/conflict/). The policy of each
field is declared on the model and looked up in a `Registry`:

* `lww`: highest `(hlc, author)` wins; exact ties (a forged or forked feed) break on the value's
  canonical bytes. Edit counts never decide.
* `set`: add-wins observed-remove set. An add carries a unique tag `(hlc, author)`; a remove carries
  the tags its writer had observed, so a concurrent add with a fresh tag survives.
* `lattice`: ranked stages; the highest rank wins; the absorbing stage (`revoked`) tops every rank.
* row delete: absorbing. Once a delete is seen, the row's values are purged, later edits are
  ignored, and only a small tombstone `(hlc, author)` remains. Erasure under PIPL must not be undone
  by a laptop that was offline when it happened; a mistaken delete is fixed by entering a new row.

Semantic conflicts (one person placed by two brokers at once) are not merge problems: data still
converges by the rules above, and `semantic.Rule`s report them for county staff.
"""
