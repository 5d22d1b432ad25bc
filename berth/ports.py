"""Which ports speak HTTP: the one rule every target uses to keep the others off the internet.

A cloud target can put HTTP behind a load balancer or Cloud Run; anything else a compose file
publishes (a database, a cache, a broker, UDP) is reachable only inside the project unless the
stack explicitly opts in. Deciding "is this HTTP?" in one place keeps AWS and GCP from drifting
apart on what they expose. No Pulumi here: it is pure domain knowledge.
"""

from __future__ import annotations

HTTP_APP_PROTOCOLS = frozenset({"http", "https", "http2", "grpc"})
"""``app_protocol`` values that mean the port serves HTTP (gRPC rides on HTTP/2)."""
NON_HTTP_PORTS = {
    21: "FTP", 22: "SSH", 25: "SMTP", 53: "DNS", 389: "LDAP", 1433: "SQL Server", 1521: "Oracle",
    1883: "MQTT", 2181: "ZooKeeper", 3306: "MySQL", 5432: "PostgreSQL", 5672: "AMQP",
    6379: "Redis", 9042: "Cassandra", 9092: "Kafka", 9300: "Elasticsearch transport",
    11211: "Memcached", 25565: "Minecraft", 27017: "MongoDB",
}  # fmt: skip
"""Container ports whose protocol is known not to be HTTP: kept internal unless app_protocol
says http."""
TCP_SERVER_IMAGES = (
    "postgres", "postgis", "timescaledb", "mysql", "mariadb", "percona", "redis", "valkey",
    "keydb", "mongo", "memcached", "rabbitmq", "cassandra", "scylla", "elasticsearch",
    "opensearch", "azure-sql-edge", "mssql", "redpanda", "kafka", "zookeeper", "nats", "etcd",
    "clickhouse", "couchdb", "neo4j",
)  # fmt: skip
"""Image names (the last path segment, without tag) that start with these serve plain TCP:
databases, caches and brokers, whatever port they are moved to."""


def image_name(image: str) -> str:
    """``docker.io/library/postgres:16@sha256:...`` -> ``postgres``."""
    path = image.split("@", 1)[0]
    last = path.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def plain_tcp_image(image: str | None) -> str | None:
    """The image's name when it is a known plain-TCP server (postgres, redis, ...), else None."""
    if not image:
        return None
    name = image_name(image)
    return name if name.startswith(TCP_SERVER_IMAGES) else None


def not_http(
    target: int, protocol: str, app_protocol: str | None, image: str | None = None
) -> str | None:
    """Why a container port is not HTTP (a short phrase for a warning), or None when it is.

    An explicit ``app_protocol`` decides; otherwise a UDP port, a well-known non-HTTP port, or
    any port of a known database/cache/broker image (``image``, when given) is not HTTP.
    """
    if protocol != "tcp":
        return f"a {protocol.upper()} port"
    if app_protocol:
        return None if app_protocol in HTTP_APP_PROTOCOLS else f"app_protocol {app_protocol}"
    if target in NON_HTTP_PORTS:
        return f"the {NON_HTTP_PORTS[target]} port; set app_protocol: http if it serves HTTP"
    if name := plain_tcp_image(image):
        return f"a port of {name}, which serves plain TCP; set app_protocol: http if it is HTTP"
    return None
