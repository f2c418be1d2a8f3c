"""A papermill engine that runs one notebook under HXB Lab's control.

Papermill's own nbclient engine, plus what a run needs and papermill has no switch for:
the kernel's environment and working directory per run (no `os.chdir`, so runs in
threads do not disturb each other), a total timeout, cancellation (Ctrl-C), the index of
the cell being executed, and secrets masked in every copy of the notebook written to disk.
Registered under the name ``hxb_lab``.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import zmq
from jupyter_client.manager import KernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.iorw import write_ipynb
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from hxb_lab.runbooks._control import Control

__all__ = ["ENGINE", "HxbEngine"]

ENGINE = "hxb_lab"


class _Manager(NotebookExecutionManager):  # type: ignore[misc]
    """Papermill's execution manager; every save writes a copy with secrets masked."""

    control: Control | None = None

    def save(self, **kwargs: Any) -> None:
        control = self.control
        if self.output_path and control is not None and control.redact is not None:
            nb = copy.deepcopy(self.nb)
            control.redact(nb)
            write_ipynb(nb, self.output_path)
            return
        super().save(**kwargs)


class HxbEngine(NBClientEngine):  # type: ignore[misc]
    """nbclient execution with a per-run `Control` (passed as ``hxb_control``)."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        control: Control = kwargs.pop("hxb_control")
        nb_man = _Manager(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.control = control
        start_cell = nb_man.cell_start

        def cell_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
            control.cell_starting(cell_index)
            return start_cell(cell, cell_index, **kw)

        nb_man.cell_start = cell_start
        nb_man.notebook_start()
        try:
            cls._execute(nb_man, kernel_name, control, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def _execute(
        cls,
        nb_man: Any,
        kernel_name: str,
        control: Control,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        client = PapermillNotebookClient(nb_man, **final_kwargs)
        control.attach(client)
        # CurveZMQ between us and the kernel when the kernelspec supports it: outputs may
        # carry what a runbook read from a cluster, and loopback TCP is open to local users.
        options: dict[str, Any] = {"env": control.env, "cwd": control.cwd}
        if zmq.has("curve") and "transport_encryption" in KernelManager.class_trait_names():
            options["transport_encryption"] = "auto"  # jupyter_client >= 8.10
        with contextlib.ExitStack() as stack:
            if control.kernel_log:  # not the terminal: kernel warnings are not ours to print
                log = stack.enter_context(open(control.kernel_log, "ab"))
                options.update(stdout=log, stderr=log)
            return client.execute(**options)


papermill_engines.register(ENGINE, HxbEngine)
