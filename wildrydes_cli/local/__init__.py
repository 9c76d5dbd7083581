"""The embedded local target: AWS APIs, execute-api and Lambda on 127.0.0.1, one port.

Composition (may import every subpackage):
  daemon.py        the CLI's side: start, stop, status, reset, compact, ``ensure_running``
  daemon_files.py  the daemon's state file, log file, private directories, pid and port facts
  daemon_log.py    the daemon's log: rotated by size, stdout/stderr following it; its tail read from the end
  server.py        the daemon process: the asyncio server, dispatch, wiring at start, shutdown
  http.py          HttpRequest and HttpResponse, which every part below passes around
Parts (each imports only http.py of local/, and the ground):
  front/     HTTP/1.1 off the wire and onto it, connections and their limits
  awsapi/    an AWS API call: SigV4 gate -> journal -> moto; replay and compaction
  invoke/    an execute-api call: route -> proxy event -> the Lambda runner -> proxy response
             (also reads moto through awsapi/moto_backends; functions run with awsapi/function_credentials)
  training/  SageMaker training jobs run for real: validation, states, channels, the algorithm process
             (reads moto through awsapi/moto_backends; writes through callables server.py gives it)

Never imports cli/, deploy/, observe/, training/ or aws/. The local Linear Learner is
``python -m wildrydes_cli.training.algorithm``, run as a process (SageMaker's container
contract), never imported: ``local/training/runner.py`` names that one entry point.
"""
