"""Imported first by the fork server: when it ends, it removes the folder of its own socket.

multiprocessing keeps the fork server's socket in a temporary folder (`pymp-*`), which the process
that started the server removes when it exits. A process killed by SIGKILL cannot; its fork
server outlives it until its last worker has gone, then exits normally, so it removes the folder
then. (Its workers leave with os._exit, and so never run this.)
"""

import atexit
import os
import shutil
from multiprocessing import forkserver


def _remove_socket_folder() -> None:
    address = forkserver._forkserver._forkserver_address  # set in the server by forkserver.main
    if not isinstance(address, str) or address.startswith("\0"):  # an abstract socket has no file
        return
    folder = os.path.dirname(address)
    if os.path.basename(folder).startswith("pymp-"):
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_remove_socket_folder)
