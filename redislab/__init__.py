"""redislab: a terminal lab for learning Redis replication, Sentinel and Cluster."""

__version__ = "0.1.0"
