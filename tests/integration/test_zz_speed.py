import time
import httpx
from app.db import ConnectionDatabase
from app.graphql_http import GRAPHQL_RESPONSE
from tests.integration.test_planner import build_world, rich_record, clinician_token


async def test_speed(conn, settings):
    from app.main import create_app
    from tests.integration.test_compiled_population import population
    w = await build_world(conn)
    await population(conn, w)
    token = clinician_token(settings, w)
    body = {"operationName": "PopulationList", "variables": {"first": 50, "items": 5, "provider": w.a.hsa_id}}
    headers = {"authorization": f"Bearer {token}", "accept": GRAPHQL_RESPONSE}
    modes = {"compiled": {"planner": False, "compiled_operations": True},
             "planner": {"planner": True, "compiled_operations": False},
             "loader": {"planner": False, "compiled_operations": False}}
    apps = {m: create_app(settings.model_copy(update=u), db=ConnectionDatabase(conn)) for m, u in modes.items()}
    for rnd in range(3):
        for m, app in apps.items():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                for _ in range(5):
                    await http.post("/graphql", json=body, headers=headers)
                n = 60
                c0, t0 = time.process_time(), time.perf_counter()
                for _ in range(n):
                    r = await http.post("/graphql", json=body, headers=headers)
                c1, t1 = time.process_time(), time.perf_counter()
                assert r.status_code == 200
                print(f"SPEED {m} cpu {1000*(c1-c0)/n:.2f} ms wall {1000*(t1-t0)/n:.2f} ms")
