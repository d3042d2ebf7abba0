"""The flows wing: the Metaflow-style layer over the same store.

:mod:`~provenance.flows.runs` brackets calls into named runs and
:mod:`~provenance.flows.client` browses them as Metaflow's client does.
Their public import paths are ``provenance.run`` and ``provenance.client``.
"""
