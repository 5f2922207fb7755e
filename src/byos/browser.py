"""Where the browser upload client ``byos-upload.js`` lives, so an import service can serve it."""

from __future__ import annotations

from pathlib import Path

CLIENT_FILENAME = "byos-upload.js"


def browser_client_path() -> Path:
    """Return the path of ``byos-upload.js``, the dependency-free ES module that executes byos upload plans.

    Serve the file to the browser as JavaScript (for example at ``/byos-upload.js``), then in the page::

        import { upload } from "/byos-upload.js";
        const result = await upload(file, plan, { onProgress, signal });

    Returns:
        The path of the module inside the installed byos package.
    """
    return Path(__file__).with_name(CLIENT_FILENAME)
