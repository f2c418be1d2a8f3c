"""The server extension as a Jupyter `ExtensionApp`: routes, the run pool, and a clean stop.

Configure the pool in ``jupyter_server_config.py`` (``c.HxbLabApp.run_workers = 4``) or
with ``HXB_LAB_RUN_WORKERS``; the default is 2. When the server stops, runs still
executing are stopped and recorded as failed with reason "server stopped", queued ones as
cancelled. On start, and every few minutes, runs whose owner is gone (a server killed
before this one, a worker killed) are recorded failed with reason "host stopped".

``c.HxbLabApp.record_history = True`` makes the server record the cluster history too (the
recorder of ``hxb-lab record``, for the profile active when it starts; see
`hxb_lab.server._history`), ``c.HxbLabApp.record_kinds`` narrows what it records.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Integer, List, Unicode, default

from hxb_lab.server._history import HISTORY_SETTING, HistoryRecording
from hxb_lab.server._pool import RUNS_SETTING, RunManager, workers_from_env
from hxb_lab.server._records import SERVER_STOPPED
from hxb_lab.server._runs import report_policy
from hxb_lab.server.routes import ROUTES, setup_route_handlers

__all__ = ["RUNS_SETTING", "HxbLabApp"]


async def _warm_report_policy() -> None:
    try:
        await asyncio.get_running_loop().run_in_executor(None, report_policy)
    except Exception:  # the report route computes it again and says what is wrong
        return


class HxbLabApp(ExtensionApp):
    """HXB Lab's REST routes under ``/hxb-lab/api`` and the pool that runs runbooks."""

    name = "hxb_lab"
    description = "HXB Lab: the operations workbench's REST API for the JupyterLab sidebar."
    load_other_extensions = True

    run_workers = Integer(
        help="How many runbook runs execute at once; more wait in a queue "
        "(default: HXB_LAB_RUN_WORKERS, else 2).",
    ).tag(config=True)

    stop_grace_s = Float(
        20.0, help="Seconds a running run gets to stop when the server stops, before it is killed."
    ).tag(config=True)

    record_history = Bool(
        False,
        help="Record the cluster history (as `hxb-lab record` does) of the profile active when "
        "the server starts, while the server runs; never for a snapshot profile.",
    ).tag(config=True)

    record_kinds = List(
        Unicode(),
        help="The kinds the server records with record_history (default: every kind HXB Lab "
        "reads), as `hxb-lab record --kind`.",
    ).tag(config=True)

    @default("run_workers")
    def _default_run_workers(self) -> int:
        return workers_from_env()

    def _web_app(self) -> Any:
        assert self.serverapp is not None, "the extension is not linked to a server"
        return self.serverapp.web_app

    def initialize_settings(self) -> None:
        manager = RunManager(self.run_workers, stop_grace_s=self.stop_grace_s)
        self._web_app().settings[RUNS_SETTING] = manager
        # Runs a killed server (or worker) left behind are ended as soon as the loop runs.
        assert self.serverapp is not None
        self.serverapp.io_loop.add_callback(manager.start_reconciling)
        # The reports' policy hashes the report template (seconds, once per process): do it
        # now, so the first report a user opens is not the one that waits for it.
        self.serverapp.io_loop.add_callback(_warm_report_policy)
        if self.record_history:
            history = HistoryRecording(self.record_kinds)
            self._web_app().settings[HISTORY_SETTING] = history
            history.start()

    def initialize_handlers(self) -> None:
        setup_route_handlers(self._web_app())
        self.log.info(
            "hxb_lab: %d route(s) under /hxb-lab/api, %d run worker(s)",
            len(ROUTES),
            self.run_workers,
        )

    async def stop_extension(self) -> None:
        history: Any = self._web_app().settings.get(HISTORY_SETTING)
        stopping = None
        if isinstance(history, HistoryRecording):  # stops while the runs stop
            stopping = asyncio.get_running_loop().run_in_executor(None, history.stop)
        manager: Any = self._web_app().settings.get(RUNS_SETTING)
        if isinstance(manager, RunManager):
            await manager.stop(SERVER_STOPPED)
        if stopping is not None and not await stopping:
            self.log.warning("hxb_lab: the cluster history recorder did not stop in time")
