"""The verbs: one module per thing done to stored artifacts.

:mod:`~provenance.verbs.sets`, :mod:`~provenance.verbs.promote`,
:mod:`~provenance.verbs.gc`, :mod:`~provenance.verbs.remove`, :mod:`~provenance.verbs.verify`,
:mod:`~provenance.verbs.lineage`, :mod:`~provenance.verbs.vis` and
:mod:`~provenance.verbs.upgrade`.  They use storage and the call path, never
the command line; ``provenance`` re-exports their public functions.
"""
