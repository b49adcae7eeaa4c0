"""Dependency providers of the volunteers service: the organisation of the worker's community."""

from __future__ import annotations

from nameko.extensions import DependencyProvider

from guanyinli import tenancy
from volunteers import structure
from volunteers.structure import Structures


class CommunityStructures(DependencyProvider):
    """``self.structures``: every served community's organisation (``volunteers.structure``), read
    and checked when the service starts, so a wrong structure file stops it with the file and field
    named. While a worker runs, the schemas' validators see its community's (``structure.current``)."""

    def setup(self):
        self.structures = Structures(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.structures

    def worker_setup(self, worker_ctx):
        # Found when first asked for: a community the installation does not serve is refused then
        # (CommunityNotFound), by the method, not here where nameko could not answer the caller.
        structure.set_current(lambda: self.structures.of(tenancy.community_of(worker_ctx)))
