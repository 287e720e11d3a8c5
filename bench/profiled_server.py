"""vardkedja under pyinstrument: the same uvicorn server as bench.run, profiled until stopped.

    python -m bench.profiled_server OUT_PREFIX PORT

Uvicorn re-raises SIGTERM after its graceful shutdown, which would end the process before a
profiler wrapping it could write anything; here the profile is taken in-process and written
(OUT_PREFIX.txt call tree, OUT_PREFIX-flat.txt self time per function; an HTML view and the
session to re-render go to bench/.data/profiles/) after the server has stopped.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import uvicorn
from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer


def main() -> None:
    out, port = Path(sys.argv[1]), int(sys.argv[2])
    # Handled by uvicorn while it runs; afterwards its re-raise lands here and is ignored.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)
    config = uvicorn.Config(
        "bench.ours_app:create",
        factory=True,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    profiler = Profiler(interval=0.0005)
    profiler.start()
    uvicorn.Server(config).run()
    profiler.stop()
    session = profiler.last_session
    assert session is not None
    out.with_suffix(".txt").write_text(profiler.output_text(unicode=True, color=False))
    flat = ConsoleRenderer(unicode=True, flat=True, time="percent_of_total")
    out.with_name(out.name + "-flat.txt").write_text(flat.render(session))
    # The big ones stay out of git, next to the datasets.
    heavy = Path(__file__).resolve().parent / ".data" / "profiles"
    heavy.mkdir(parents=True, exist_ok=True)
    session.save(str(heavy / f"{out.name}.pyisession"))
    (heavy / f"{out.name}.html").write_text(profiler.output_html())


if __name__ == "__main__":
    main()
