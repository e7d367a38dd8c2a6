"""The built-in Redis-compatible server. Only the engine backend starts it; everything else
talks to its nodes over RESP, as to any redis-server."""
