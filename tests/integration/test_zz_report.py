from app import sqlplan
from schema.persisted import REGISTRY
from tests.integration.test_planner import answer, build_world, rich_record, clinician_token


async def test_report(conn, settings):
    w = await build_world(conn)
    await rich_record(conn, w)
    token = clinician_token(settings, w)
    for name, shipped in REGISTRY.by_name.items():
        body = {"operationName": name, "variables": {"personnummer": w.patient.identifier}}
        r = await answer(conn, settings, True, body, token)
        s = await answer(conn, settings, False, body, token)
        print("\nOP", name, "statements planner/loader", r[3], s[3], r[1] == s[1])
    for k, p in sqlplan.PLANS._plans.items():
        if k[0] == "planner" and len(k) > 2:
            fb = p.tag.fallback
            print("PLAN", k[2], "planned", p.tag.planned, "fallback", fb and fb.keys)
