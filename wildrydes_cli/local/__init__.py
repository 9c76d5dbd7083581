"""The embedded local target: AWS APIs, execute-api and Lambda on 127.0.0.1, one port.

Modules, one job each:
  daemon.py     CLI side: start/stop/status, ``ensure_running(settings) -> endpoint_url``
  state.py      the daemon's state file (private: 0700/0600), pid/port checks, port selection
  server.py     the daemon process: asyncio HTTP server, dispatch, shutdown
  httpio.py     HTTP/1.1 requests parsed by llhttp (httptools) with our limits; responses written
  connection.py one client connection: head/body/idle timeouts, pipelining; the connection cap
  wsgi.py       hands AWS API requests to moto's WSGI app (in-process)
  auth.py       the SigV4 gate in front of moto: only calls signed with the local credentials pass
  credentials.py  the per-user credentials file (0600) the gate, the CLI and the functions use
  routes.py     execute-api request -> resource/method/integration, from moto's backends
  gateway.py    pure functions: proxy event (v1) and proxy response validation, canned errors
  functions.py  the deployed function's configuration and verified code
  moto_backends.py  every read of moto's in-memory backends (the one place a moto upgrade can break)
  runner.py     warm worker pools per function; timeouts; replacement on change
  worker.py     the worker process: imports the handler once, serves invocations; MemorySize cap
"""
