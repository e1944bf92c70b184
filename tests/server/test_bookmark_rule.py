"""The bookmark rule, written once on the model, answers the same in SQL and in Python."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from kibitz.server.codemarks.models import Codemark
from kibitz.server.deps import AppState
from tests.server.conftest import Api


async def test_sql_and_python_agree_on_who_sees_a_codemark(api: Api, app: FastAPI) -> None:
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(ada, team)
    for kind in ("comment", "bookmark"):
        await api.codemark(ada, team, repo, type=kind)
    state: AppState = app.state.kibitz
    async with state.sessionmaker() as session:
        codemarks = list(await session.scalars(select(Codemark).where(Codemark.team_id == team)))
        by_type = {c.type: c for c in codemarks}
        for viewer in (ada.id, bob.id):
            in_sql = set(
                await session.scalars(
                    select(Codemark.id).where(Codemark.team_id == team, Codemark.visible_to(viewer))
                )
            )
            assert in_sql == {c.id for c in codemarks if c.visible_to(viewer)}
        shared = set(
            await session.scalars(select(Codemark.id).where(Codemark.team_id == team, Codemark.shared))
        )
    assert shared == {by_type["comment"].id} == {c.id for c in codemarks if c.shared}
    assert {c.type for c in codemarks if c.visible_to(bob.id)} == {"comment"}
    assert {c.type for c in codemarks if c.visible_to(ada.id)} == {"comment", "bookmark"}
    assert (by_type["bookmark"].private_to, by_type["comment"].private_to) == (ada.id, None)
