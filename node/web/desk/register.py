"""The register page (一村一册): search, filters, sorting, paging; every row masked."""
from __future__ import annotations

from datetime import date

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from node.web.accounts import Account
from node.web.app import page, render
from node.web.desk import search
from node.web.desk.state import Desk
from node.web.masking import mask_person
from protocol import scope as scopes


def query_of(request: Request) -> search.Query:
    q = request.query_params
    pg = q.get("page", "1")
    return search.Query(q=q.get("q", "").strip()[:50], filters=tuple(f for f in q.getlist("f") if f in search.FILTERS),
                        village=q.get("village", "") if q.get("village", "").isdigit() else "",
                        sort=q.get("sort", "name") if q.get("sort") in search.SORTS else "name",
                        desc=q.get("desc") == "1", page=int(pg) if pg.isdigit() and int(pg) > 0 else 1)


@page()
async def register(request: Request, user: Account, form: FormData) -> Response:
    desk: Desk = request.app.state.desk
    query = query_of(request)
    found, total = search.search(desk.store.engine, query, today=date.today())
    rest = request.url.remove_query_params("page").query
    township = scopes.level(desk.place) != "village"
    return render(request, "register.html", people=[mask_person(p) for p in found], total=total, query=query,
                  pages=max(1, -(-total // search.PAGE)), base=f"?{rest}&" if rest else "?",
                  filters=search.FILTERS, sorts=search.SORTS,
                  villages=search.villages(desk.store.engine) if township else [])
