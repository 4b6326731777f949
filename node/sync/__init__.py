"""A node's side of sync: the client, bundles on USB sticks, bootstrap, which hub, the verdict."""
