"""One lifecycle for the harness's throwaway things (registries, rooms): `with` starts them,
and removes whatever was started even when starting failed halfway."""

from __future__ import annotations

from typing import Self


class Throwaway:
    """Subclasses define start() and close(); close() must cope with a partial start."""

    def start(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
