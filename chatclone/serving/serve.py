"""`chatclone serve`: a run behind an OpenAI-compatible API and a browser chat page.

Safe by default: it binds 127.0.0.1, and binding any other address needs `--api-key`. The web
app itself lives in `serving.openai_api`; FastAPI and torch are imported only when serving.
"""

from __future__ import annotations

from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.serving.options import ServeConfig


def serve(cfg: ServeConfig) -> None:
    """Load the run and serve it until interrupted."""
    try:
        import uvicorn

        from chatclone.serving.openai_api import create_app
    except ImportError as e:
        raise ChatcloneError(
            f"serving needs the 'serve' extra ({e.name} is missing): pip install 'chatclone[serve]'"
        ) from None
    from chatclone.inference.engine import load_engine

    engine = load_engine(RunDir.of(cfg), cfg.load)
    app = create_app(engine, cfg)
    where = f"http://{'[' + cfg.host + ']' if ':' in cfg.host else cfg.host}:{cfg.port}"
    print(f"Serving run {cfg.run_name!r}: chat page at {where}/ , API at {where}/v1", flush=True)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")
