"""Making boto3 clients: shared sessions, and settings that suit many threads."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["make_client"]

_sessions: dict[str | None, Any] = {}
_sessions_lock = threading.Lock()


def make_client(
    endpoint_url: str | None = None,
    s3_config: Mapping[str, Any] | None = None,
    workers: int = 32,
    *,
    role: str | None = None,
    session_vars: Mapping[str, Any] | None = None,
    client_params: Mapping[str, Any] | None = None,
) -> Any:
    """A thread-safe boto3 S3 client.

    Credentials, region and endpoint come from the usual boto3 sources
    (environment, profiles, instance roles, ``AWS_ENDPOINT_URL_S3``).

    Parameters
    ----------
    endpoint_url : str, optional
        The URL of an S3-compatible server.
    s3_config : mapping, optional
        Keyword arguments of ``boto3.Session.client`` (``region_name``,
        ``aws_access_key_id``, ``verify``, ...), plus ``profile_name`` for
        the session and ``config``, a mapping of ``botocore.config.Config``
        options merged over the defaults.
    workers : int
        The number of threads that will share the client (sizes its
        connection pool).
    role : str, optional
        An IAM role ARN to assume through STS; its credentials are refreshed
        before they expire (botocore's assume-role credential fetcher).
    session_vars : mapping, optional
        Keyword arguments of ``boto3.session.Session`` (Metaflow's
        ``session_vars``); such a session is not shared.
    client_params : mapping, optional
        Keyword arguments of ``session.client("s3", ...)`` (Metaflow's
        ``client_params``), over ``s3_config``'s; the STS client that assumes
        ``role`` uses the same ``endpoint_url``.
    """
    import boto3
    from botocore.config import Config

    kwargs = {**dict(s3_config or {}), **dict(client_params or {})}
    profile = kwargs.pop("profile_name", None)
    user_config = kwargs.pop("config", None)
    config = Config(
        max_pool_connections=max(10, workers),
        # Retries are ours (per item, with jitter, counted); botocore's would
        # multiply with them.
        retries={"mode": "standard", "total_max_attempts": 1},
        # Skip the CRC checksums recent botocore adds to every request: many
        # S3-compatible servers reject them, they cost CPU per object, and
        # provenance verifies each blob's hash when it reads it anyway.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    if isinstance(user_config, Mapping):
        config = config.merge(Config(**user_config))
    elif user_config is not None:
        config = config.merge(user_config)
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    if session_vars or role:
        session = boto3.session.Session(**{"profile_name": profile, **dict(session_vars or {})})
        if role:
            session = _assumed(session, role, kwargs.get("endpoint_url"))
        return session.client("s3", config=config, **kwargs)
    # Sessions are not thread-safe, but they cache the parsed service model,
    # which halves the cost of a client: share one per profile, under a lock.
    with _sessions_lock:
        session = _sessions.get(profile)
        if session is None:
            session = _sessions[profile] = boto3.session.Session(profile_name=profile)
        return session.client("s3", config=config, **kwargs)


def _assumed(session: Any, role: str, endpoint_url: str | None) -> Any:
    """A session whose credentials are ``role``'s, assumed with ``session``'s and refreshed."""
    import boto3
    import botocore.session
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

    source = session._session  # the botocore session under the boto3 one

    def sts_client(service: str, **kwargs: Any) -> Any:
        if endpoint_url:  # a local S3-compatible server serves STS too (moto does)
            kwargs.setdefault("endpoint_url", endpoint_url)
        return source.create_client(service, **kwargs)

    fetcher = AssumeRoleCredentialFetcher(
        sts_client, source.get_credentials(), role,
        extra_args={"RoleSessionName": "provenance-s3"},
    )  # fmt: skip
    assumed = botocore.session.Session()
    if source.get_config_variable("region"):
        assumed.set_config_variable("region", source.get_config_variable("region"))
    assumed._credentials = DeferredRefreshableCredentials(
        method="assume-role", refresh_using=fetcher.fetch_credentials
    )
    return boto3.session.Session(botocore_session=assumed)
