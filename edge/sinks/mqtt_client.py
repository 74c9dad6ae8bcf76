"""Building a configured paho-mqtt 2.x client: import, will, back-off, auth, TLS; and telling
a broker's "no" (bad credentials, an untrusted certificate) from a passing outage.

Kept apart from the sink so that the sink reads as publishing logic only.
paho-mqtt is imported here, lazily, when a client is first built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from ser_edge.errors import ConfigError, DependencyError

if TYPE_CHECKING:  # ssl (and OpenSSL, 4 MB resident) only where TLS is used
    import ssl

log = logging.getLogger(__name__)

#: CONNACK reason codes that retrying with the same settings cannot fix (MQTT 5 numbering,
#: which paho also uses for 3.1.1): bad protocol version, client id refused, bad user name
#: or password, not authorized
REFUSED_FOR_GOOD = (132, 133, 134, 135)
#: how long the TLS diagnosis may take, s
PROBE_TIMEOUT_S = 5.0


def import_paho() -> Any:
    """The paho.mqtt.client module, or a DependencyError naming the pip extra."""
    try:
        import paho.mqtt.client as mqtt
    except ImportError as exc:
        raise DependencyError("MQTT output needs paho-mqtt 2.x: pip install 'ser-edge[mqtt]'") from exc
    if not hasattr(mqtt, "CallbackAPIVersion"):
        raise DependencyError("MQTT output needs paho-mqtt>=2.0, an older one is installed: "
                              "pip install -U 'ser-edge[mqtt]'")
    return mqtt


@dataclass(frozen=True)
class ClientOptions:
    """Connection settings; times in seconds. See MqttSink for what each one means."""

    client_id: str
    keepalive_s: int = 60
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 120.0
    username: Optional[str] = None
    password: Optional[str] = None
    tls: bool = False
    ca_file: Optional[str] = None
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    tls_insecure: bool = False

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls or self.ca_file or self.cert_file or self.key_file)


def make_client(mqtt: Any, options: ClientOptions, *, will_topic: str, will_payload: str,
                context: Optional[ssl.SSLContext] = None) -> Any:
    """A paho Client (MQTT 3.1.1, clean session, callback API 2) with a retained QoS 1 last will.

    ``context``: the TLS context from `tls_context` (None: plain TCP).
    """
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                         client_id=options.client_id, protocol=mqtt.MQTTv311, clean_session=True)
    client.max_queued_messages_set(0)  # unbounded here: the sink keeps at most a window in paho
    client.reconnect_delay_set(min_delay=options.reconnect_min_s, max_delay=options.reconnect_max_s)
    # Retained, so that anyone subscribing later also sees the device is gone.
    client.will_set(will_topic, will_payload, qos=1, retain=True)
    if options.username is not None:
        client.username_pw_set(options.username, options.password)
    elif options.password is not None:
        raise ConfigError("MQTT password given without a username")
    if context is not None:
        client.tls_set_context(context)
    return client


def tls_context(o: ClientOptions) -> Optional[ssl.SSLContext]:
    """A verifying TLS context (the broker's certificate must chain to ca_file, or to the
    system's CAs without one, and name the host unless tls_insecure); None without TLS."""
    if not o.uses_tls:
        return None
    for what, path in (("ca_file", o.ca_file), ("cert_file", o.cert_file), ("key_file", o.key_file)):
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"MQTT TLS {what} {path} does not exist or is not a file")
    import ssl

    try:
        context = ssl.create_default_context(cafile=o.ca_file)
        if o.cert_file:
            context.load_cert_chain(o.cert_file, o.key_file)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ConfigError(f"MQTT TLS setup failed (ca_file={o.ca_file}, cert_file={o.cert_file}): {exc}") from exc
    if o.tls_insecure:
        log.warning("MQTT TLS host-name verification is OFF (tls_insecure); the CA is still checked")
        context.check_hostname = False
    return context


def refusal_of(reason_code: Any) -> Optional[str]:
    """Why a broker's CONNACK refusal will not pass by itself (None if it may)."""
    if getattr(reason_code, "value", None) in REFUSED_FOR_GOOD:
        return f"refused the connection: {reason_code}"
    return None


def probe_tls(host: str, port: int, context: ssl.SSLContext) -> Optional[str]:
    """Why a TLS handshake with the broker fails for good (an untrusted or misnamed
    certificate), or None when it works or the broker is merely unreachable.

    paho reports a failed connection without its cause; this one handshake, made after
    the first failure of an outage, finds it.
    """
    import socket
    import ssl

    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as sock:
            with context.wrap_socket(sock, server_hostname=host):
                return None
    except ssl.SSLCertVerificationError as exc:
        return f"TLS: the broker's certificate is not trusted ({exc.verify_message or exc.reason})"
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError):
        return None  # the connection was cut mid-handshake (a restarting broker): that may pass
    except ssl.SSLError as exc:
        return f"TLS handshake failed ({exc.reason or exc})"
    except OSError:
        return None  # down or unreachable: that may pass
