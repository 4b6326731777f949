"""The village desk (`laowu-node desk`): the register, the cards, the work and sync, in a browser.

    state      the open node: store, config, hubs, the online probe and the unsynced-record badge
    search     the pinyin index and the register query (一村一册)
    register   the register page
    card       the person card (一人一卡): entry, edit, full view, history, print, yearly worklist
    dupes      the duplicate warning at entry
    work       jobs, placements, follow-ups, training, returns, monitoring, orders, the broker's filing
    syncpage   the sync page, "sync now", USB bundles
    importer   CSV / .xlsx import with a preview
    app        the routes put together on the shared foundation (`node.web.app`)
"""
